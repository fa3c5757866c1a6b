// One error type for the whole code base: a message with a context chain.
//
// Errors read as one line, outermost context first:
//   "verity digest: /tmp/x: Is a directory"
// Add context as an error bubbles up with Error::context() or BS_TRY_CTX.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace bootseal {

// Broad classes of failure; the CLI maps them to exit codes (docs/cli.md).
enum class ErrorKind {
  kInput,        // bad input data or arguments (malformed file, bad option value)
  kIo,           // an operating-system call failed
  kUnsupported,  // the kernel or filesystem lacks a needed feature
  kCheckFailed,  // a verification found a mismatch (valid input, negative verdict)
  kInternal,     // a bug: an invariant did not hold
  kUsage,        // a bad command line found after parsing (a bad option value)
};

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // errno of the failing syscall, 0 if none.
  int sys_errno() const { return errno_; }

  // Prefix this error with what was being done: "reading layer x: <old message>".
  Error&& context(std::string_view what) && {
    message_ = fmt::format("{}: {}", what, message_);
    return std::move(*this);
  }
  Error& context(std::string_view what) & {
    message_ = fmt::format("{}: {}", what, message_);
    return *this;
  }

  static Error from_errno(int err, std::string_view what);

 private:
  ErrorKind kind_;
  std::string message_;
  int errno_ = 0;
};

// Helpers that build errors with fmt formatting.
template <typename... Args>
Error input_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kInput, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Error check_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kCheckFailed, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Error unsupported_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Error usage_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kUsage, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Error internal_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kInternal, fmt::format(f, std::forward<Args>(args)...));
}
// An error from errno: "<what>: <strerror(errno)>".
inline Error sys_error(std::string_view what, int err = errno) { return Error::from_errno(err, what); }

// Result<T>: a value or an Error (shaped like std::expected, which GCC 12 lacks in C++20).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}
  Result(Error error) : err_(std::move(error)), has_error_(true) {}
  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }
  void value() const {}

 private:
  Error err_{ErrorKind::kInternal, ""};
  bool has_error_ = false;
};

using Status = Result<void>;

}  // namespace bootseal

// BS_TRY(expr): evaluate a Result; on error return it from the enclosing function,
// otherwise yield the value. Uses a GNU statement expression (GCC and clang).
#define BS_TRY(expr)                                   \
  ({                                                   \
    auto bs_try_r_ = (expr);                           \
    if (!bs_try_r_.ok()) return std::move(bs_try_r_).error(); \
    std::move(bs_try_r_).value();                      \
  })

// BS_TRY_CTX(expr, fmt, args...): as BS_TRY, prefixing the error with context.
#define BS_TRY_CTX(expr, ...)                                                   \
  ({                                                                            \
    auto bs_try_r_ = (expr);                                                    \
    if (!bs_try_r_.ok())                                                        \
      return std::move(bs_try_r_).error().context(fmt::format(__VA_ARGS__));    \
    std::move(bs_try_r_).value();                                               \
  })
