// result.hh -- one way to say "this failed, and why" for loading, the server config and the
// control socket: Result<T> is a T or the errors that kept it from being made; Result<void> is
// success or errors. An Error knows where it is (file, line, key) and formats itself as the one
// line operators see, "FILE:LINE: KEY: message", with the parts that are not known left out.
// No exceptions; a successful Result<void> holds an empty vector, so it never allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rrdns {

struct Error {
  std::string file;     // empty: not about a file
  uint32_t line = 0;    // 0: no line is known
  std::string key;      // empty: no key (a TOML key path, a command line option, ...)
  std::string message;  // what is wrong

  // "FILE:LINE: KEY: message"; without a file "KEY: message", without a key "FILE:LINE: message".
  std::string text() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    if (!out.empty()) out += ": ";
    if (!key.empty()) out.append(key).append(": ");
    out += message;
    return out;
  }
};

using Errors = std::vector<Error>;

// An error that is only a message (its text() is the message as it is).
inline Error error(std::string message) { return Error{{}, 0, {}, std::move(message)}; }
// An error about a file, at `line` (0: the whole file) and `key` (may be empty).
inline Error errorAt(std::string file, uint32_t line, std::string key, std::string message) {
  return Error{std::move(file), line, std::move(key), std::move(message)};
}

// The text of each error, for the places that print or send them as lines.
inline std::vector<std::string> texts(const Errors& errors) {
  std::vector<std::string> out;
  out.reserve(errors.size());
  for (const Error& e : errors) out.push_back(e.text());
  return out;
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : d_value(std::move(value)) {}  // NOLINT: implicit, `return value;` reads well
  Result(Error error) { d_errors.push_back(std::move(error)); }  // NOLINT
  // `errors` must not be empty: a Result with no value says why.
  Result(Errors errors) : d_errors(std::move(errors)) {}  // NOLINT

  bool ok() const { return d_value.has_value(); }
  explicit operator bool() const { return ok(); }

  T& value() & { return *d_value; }
  const T& value() const& { return *d_value; }
  T&& value() && { return std::move(*d_value); }
  T& operator*() & { return *d_value; }
  const T& operator*() const& { return *d_value; }
  T* operator->() { return &*d_value; }
  const T* operator->() const { return &*d_value; }

  const Errors& errors() const { return d_errors; }
  Errors& errors() { return d_errors; }
  const Error& error() const { return d_errors.front(); }  // the first; only when !ok()

 private:
  std::optional<T> d_value;
  Errors d_errors;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;                                            // success
  Result(Error error) { d_errors.push_back(std::move(error)); }  // NOLINT
  Result(Errors errors) : d_errors(std::move(errors)) {}         // NOLINT: empty is success

  bool ok() const { return d_errors.empty(); }
  explicit operator bool() const { return ok(); }

  const Errors& errors() const { return d_errors; }
  Errors& errors() { return d_errors; }
  const Error& error() const { return d_errors.front(); }  // the first; only when !ok()

 private:
  Errors d_errors;
};

inline Result<void> success() { return {}; }

}  // namespace rrdns
