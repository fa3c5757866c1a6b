#include "base/error.h"

#include <cstring>

namespace bootseal {

Error Error::from_errno(int err, std::string_view what) {
  ErrorKind kind = ErrorKind::kIo;
  if (err == ENOTTY || err == EOPNOTSUPP || err == ENOSYS) kind = ErrorKind::kUnsupported;
  Error e(kind, what.empty() ? std::string(std::strerror(err))
                             : fmt::format("{}: {}", what, std::strerror(err)));
  e.errno_ = err;
  return e;
}

}  // namespace bootseal
