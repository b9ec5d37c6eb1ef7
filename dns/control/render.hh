// render.hh -- a response as text for people, whatever fields the command put in it.
#pragma once

#include <cstdint>
#include <string>

#include "dns/control/protocol.hh"

namespace rrdns::control {

// The members of a response object other than "v" and "ok", in their order:
//   - scalars as aligned "key: value" lines; nested objects flattened with dots
//     ("reloads.ok: 3"); arrays of scalars joined with ", "; empty arrays/objects as "(none)";
//   - arrays of objects as a "key:" heading and a text table below it: columns are the union of
//     the rows' keys in first-seen order (nested objects flattened with dots), a missing or null
//     cell is "-", columns of numbers are right-aligned.
// Strings are printed without quotes, floats with at most 3 decimals. A key ending in "_until"
// with a whole number is a time in unix seconds (drain_until), shown as formatUntil() does; one
// ending in "_at" a time in unix seconds too (a DNSSEC key's timers), shown as formatAt() does.
// Returns "" if there is nothing to show. Every line ends in '\n'.
std::string renderText(const Json& response);

// Unix time `until` for people, with what is left of it at `now`:
// "2026-12-03T10:45:00Z (300 s left)" (0 s once it has passed).
std::string formatUntil(int64_t until, int64_t now);

// Unix time `at` as "2026-12-03T10:45:00Z"; 0 (not set) as "-".
std::string formatAt(int64_t at);

// One value as a table cell or after "key: ": null "-", numbers compact, strings unquoted, arrays
// of scalars joined with ", ", anything else compact JSON.
std::string formatValue(const Json& value);

// A number with at most 3 decimals and no trailing zeros: 2.0 -> "2", 0.12345 -> "0.123".
std::string formatNumber(double value);

}  // namespace rrdns::control
