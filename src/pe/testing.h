// A tiny synthetic PE32+ image for tests and fuzz seeds (not a real program:
// headers and sections only).
#pragma once

#include "base/bytes.h"

namespace bootseal::pe::testing {

struct TinyPeOptions {
  uint32_t file_alignment = 0x200;
  uint32_t section_alignment = 0x1000;
  uint32_t size_of_headers = 0x200;
  int sections = 2;  // .text (code) then .data, 0x200 raw bytes each
};

// Layout: DOS header (e_lfanew 0x40), "PE\0\0", file header (x86-64),
// optional header with 16 data directories, section table, then section i's
// raw data at size_of_headers + i*0x200, mapped at (i+1)*section_alignment.
Bytes tiny_pe(const TinyPeOptions& o = {});

}  // namespace bootseal::pe::testing
