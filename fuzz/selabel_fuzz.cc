// libFuzzer target: the SELinux policy parser and relabel (oci/selabel.h).
// The input is split at the first NUL into file_contexts and
// file_contexts.subs, placed in a small tree with a hardlink, then relabelled.
// Links bootseal::oci only. Seeds: fuzz/corpus/selabel/.
#include <sys/stat.h>
#include <cstddef>
#include <cstdint>
#include <string>

#include "oci/selabel.h"

using namespace bootseal;

namespace {

fstree::NodePtr file(std::string_view text) {
  auto n = fstree::make_node(S_IFREG | 0644);
  n->content.assign(text.begin(), text.end());
  n->size = n->content.size();
  return n;
}

fstree::Node* mkdir(fstree::Node& parent, const char* name) {
  auto d = fstree::make_dir();
  fstree::Node* p = d.get();
  (void)parent.add_child(name, d);
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view fc = in.substr(0, nul), subs = nul == std::string_view::npos ? "" : in.substr(nul + 1);
  fstree::Tree t{fstree::make_dir()};
  fstree::Node* etc = mkdir(*t.root, "etc");
  fstree::Node* se = mkdir(*etc, "selinux");
  (void)se->add_child("config", file("SELINUXTYPE=t\n"));
  fstree::Node* files = mkdir(*mkdir(*mkdir(*se, "t"), "contexts"), "files");
  (void)files->add_child("file_contexts", file(fc));
  (void)files->add_child("file_contexts.subs", file(subs));
  fstree::Node* usr = mkdir(*t.root, "usr");
  auto f = file("x");
  (void)usr->add_child("a", f);
  (void)usr->add_child("b", f, true);
  (void)usr->add_child("l", fstree::make_node(S_IFLNK | 0777));
  (void)oci::selinux_relabel(t, {});
  return 0;
}
