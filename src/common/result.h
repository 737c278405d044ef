// Result<T>: the error channel inside lambdad. A [[nodiscard]] subset of
// std::expected<T, Error>; becomes std::expected in C++23. Thread rules: values.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace lambdad {

enum class Code {
  kOk,
  kInvalidArgument,  // 400 InvalidParameterValueException
  kNotFound,         // 404 ResourceNotFoundException
  kConflict,         // 409 ResourceConflictException
  kTooLarge,         // 413 RequestTooLargeException
  kTooManyRequests,  // 429 TooManyRequestsException
  kTimeout,
  kUnavailable,
  kInternal,  // 500 ServiceException
};

struct Error {
  Code code = Code::kInternal;
  int err_no = 0;
  std::string context;

  static Error make(Code code, std::string context) { return Error{code, 0, std::move(context)}; }
  static Error from_errno(int err, std::string context) {
    return Error{Code::kInternal, err, std::move(context)};
  }
  // context plus strerror text when err_no is set.
  std::string message() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

// A broken invariant is a bug: abort with a message.
[[noreturn]] void check_failed(const char* cond, const char* why, const char* file, int line);
#define LAMBDAD_CHECK(cond, why) \
  ((cond) ? (void)0 : ::lambdad::check_failed(#cond, why, __FILE__, __LINE__))

}  // namespace lambdad
