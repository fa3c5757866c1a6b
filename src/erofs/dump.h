// An annotated dump of an EROFS image, region by region in file order, one
// field a line ("offset region.field = value"), like composefs-rs's mkfs
// snapshots: for debugging and for snapshot tests of the writers, where a
// change of one byte shows as the field it belongs to. Reads the image with
// the same field encoding as the reader (erofs/format.h), every offset checked.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/error.h"

namespace bootseal::erofs {

Result<std::string> dump_image(ByteSpan image);

}  // namespace bootseal::erofs
