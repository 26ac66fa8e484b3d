// iovakit/result.h: errors as values.
//
// Design
// ------
// Everything iovakit reads comes from outside the process: firmware tables,
// sysfs files, pasted kernel logs, VM configurations. Malformed input is the
// normal case, not an exception, so every function that consumes input returns
// a Result<T>: either a value or an Error that says what is wrong and where
// (file, line, byte offset). Callers must look at it ([[nodiscard]]).
//
// Exceptions are kept for programming errors only (a violated precondition such
// as building a Range whose first is above its last); those throw
// std::invalid_argument and are documented on the function.
//
// std::expected would do this job, but Debian 12's clang 14 cannot compile
// libstdc++'s <expected> (it needs __cpp_concepts >= 202002), and the fuzzing
// build uses clang. Result is the small subset of std::expected we need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace iovakit {

// Broad classes of failure. Callers branch on these; people read the message.
enum class Errc : std::uint8_t {
  kInvalidArgument,  // a caller-supplied value is out of its domain
  kParse,            // input text or bytes do not follow their format
  kTruncated,        // input ends before a structure it announces
  kIo,               // a file or directory could not be read or written
  kNotFound,         // a named thing does not exist
  kUnsupported,      // valid input that this version cannot handle
  kPermission,       // the OS refused access (EACCES/EPERM)
  kExhausted,        // no space left (allocator, capacity)
  kBroken,           // an earlier failure left the object unusable: destroy it
};

std::string_view errc_name(Errc code);

// Where in an input an error was found. Every field is optional; to_string()
// prints only what is known, e.g. "dmar.dat: offset 0x58" or "regions:3".
struct Location {
  std::string source;                 // file name or a label such as "<stdin>"
  std::optional<std::size_t> line;    // 1-based line number in text input
  std::optional<std::size_t> offset;  // byte offset in binary input

  [[nodiscard]] bool empty() const { return source.empty() && !line && !offset; }
  [[nodiscard]] std::string to_string() const;
};

class Error {
 public:
  Error(Errc code, std::string message, Location where = {})
      : code_(code), message_(std::move(message)), where_(std::move(where)) {}

  [[nodiscard]] Errc code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }
  [[nodiscard]] const Location& where() const { return where_; }

  // Fills in the parts of the location that the inner layer could not know
  // (typically the file name, added by the layer that opened the file).
  Error& in_source(std::string source) &;
  Error&& in_source(std::string source) &&;

  // "where: message", or just "message" when the location is empty.
  [[nodiscard]] std::string to_string() const;

 private:
  Errc code_;
  std::string message_;
  Location where_;
};

// A value of T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose: `return value;` and `return Error{...};` both work.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok(). Throws std::logic_error otherwise, so that a missed
  // check fails loudly instead of reading garbage.
  T& value() & { return std::get<0>(checked()); }
  const T& value() const& { return std::get<0>(checked()); }
  T&& value() && { return std::get<0>(std::move(checked())); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !ok().
  [[nodiscard]] const Error& error() const& {
    if (ok()) throw std::logic_error("iovakit::Result: error() called on a value");
    return std::get<1>(state_);
  }
  Error&& error() && {
    if (ok()) throw std::logic_error("iovakit::Result: error() called on a value");
    return std::get<1>(std::move(state_));
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error>& checked() {
    if (!ok()) throw std::logic_error("iovakit::Result: value() on error: " + std::get<1>(state_).to_string());
    return state_;
  }
  const std::variant<T, Error>& checked() const {
    if (!ok()) throw std::logic_error("iovakit::Result: value() on error: " + std::get<1>(state_).to_string());
    return state_;
  }

  std::variant<T, Error> state_;
};

// Success with nothing to return, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  // User-provided, so that `return {};` does not zero the whole (unused)
  // Error storage first: a hot path returns success in a few instructions.
  Result() noexcept {}                               // NOLINT(modernize-use-equals-default)
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const Error& error() const {
    if (ok()) throw std::logic_error("iovakit::Result: error() called on success");
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace iovakit
