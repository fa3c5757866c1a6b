// Fuzzes the repository's record parsers (store/record.h): layer records
// (replayed by every warm import), image and deployment records. A record
// that parses must serialise back to a record that parses to the same
// entries, and replaying it into a tree must give a tree or an error.
#include <cstdint>

#include "oci/apply.h"
#include "store/record.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  if (auto l = store::parse_layer_record(in); l.ok()) {
    std::string again = store::serialize_layer_record(*l);
    auto back = store::parse_layer_record(as_bytes(again));
    if (!back.ok() || back->size() != l->size() || store::serialize_layer_record(*back) != again) __builtin_trap();
    (void)store::layer_record_objects(in);
    fstree::Tree tree;
    oci::Applier ap(tree, {});
    for (auto& r : *l)
      if (!ap.apply_resolved(r.entry, r.data).ok()) break;
    oci::finalize_links(tree);
  }
  if (auto r = store::parse_image_record(in); r.ok()) {
    auto back = store::parse_image_record(as_bytes(store::serialize_image_record(*r)));
    if (!back.ok()) __builtin_trap();
  }
  (void)store::parse_deploy_record(in);
  return 0;
}
