// masterfile_loader.cc -- RFC 1035 master files through Knot's libzscanner (loader.hh).
//
// libzscanner does the whole presentation syntax ($ORIGIN, $TTL, $INCLUDE, every type Knot
// knows, RFC 3597 unknown types) and hands over each record in uncompressed wire form. What is
// left here: choosing the apex, lower-casing the names our answer code compares byte for byte,
// and turning scanner and ZoneBuilder complaints into Errors at their file and line. Includes are
// parsed by a nested scanner that libzscanner creates with our callbacks, so the scanner a
// callback gets always knows the file and line the record came from.
// The libzscanner headers have no extern "C" guards of their own.
extern "C" {
#include <libzscanner/scanner.h>
#include <sys/stat.h>
}

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/wire/rrtype.hh"
#include "dns/zone/check.hh"
#include "dns/zone/loader.hh"

namespace rrdns::zone {
namespace {

constexpr size_t kMaxErrors = 50;       // as the TOML loader
constexpr uint32_t kDefaultTtl = 3600;  // without $TTL; Knot's default as well

// Lower-cases the names in RDATA, which are canonical in lower case (RFC 4034 6.2): the name
// fields of the type's descriptor (wire/rrtype.hh). A walk that runs off the RDATA stops there
// (the scanner never produces that; an RFC 3597 form may, and ZoneBuilder judges it).
void lowerRdataNames(uint16_t rtype, std::string& rdata) {
  const wire::RRType* layout = wire::findRRType(rtype);
  if (!layout) return;
  size_t pos = 0;
  for (const auto& f : layout->fields) {
    const size_t end = wire::fieldEnd(f.kind, rdata, pos);
    if (end == std::string::npos) return;
    if (f.kind == wire::FieldKind::kName)
      wire::lowerName(reinterpret_cast<uint8_t*>(rdata.data()) + pos, end - pos);
    pos = end;
  }
}

// "rr.test.zone" -> "rr.test.", "db.example.com" -> "example.com.": the names NSD and Knot
// users give their zone files.
std::string originFromFileName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (name.size() > 3 && name.compare(0, 3, "db.") == 0) name.erase(0, 3);
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".zone") == 0)
    name.erase(name.size() - 5);
  if (name.empty() || name.back() != '.') name += '.';
  return name;
}

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The argument of the $ORIGIN directive the file starts with (before its first record), or "".
// Only the head of the file is read, however big it is.
bool leadingOrigin(const std::string& path, std::string& origin, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    size_t pos = 0;
    while (pos < line.size() && isBlank(line[pos])) ++pos;
    if (pos == line.size() || line[pos] == ';') continue;
    if (pos != 0 || line[0] != '$') return true;  // a record: the origin must be known by now
    size_t end = pos;
    while (end < line.size() && !isBlank(line[end])) ++end;
    const std::string directive = line.substr(pos, end - pos);
    if (strcasecmp(directive.c_str(), "$ORIGIN") == 0) {
      while (end < line.size() && isBlank(line[end])) ++end;
      size_t stop = end;
      while (stop < line.size() && !isBlank(line[stop]) && line[stop] != ';') ++stop;
      origin = line.substr(end, stop - end);
      return true;
    }
    if (strcasecmp(directive.c_str(), "$TTL") != 0) return true;  // $INCLUDE, $GENERATE...
  }
  return true;
}

class MasterFileReader {
 public:
  MasterFileReader(const std::string& path, std::string origin_hint)
      : d_path(path), d_hint(std::move(origin_hint)) {}

  // Records go into `target` (another loader's zone) rather than a zone of this file's own.
  Result<void> readInto(ZoneBuilder& target, Errors& warnings) {
    d_builder = &target;
    d_hint = wire::nameToText(target.apex());
    readFile();
    warnings.insert(warnings.end(), d_warnings.begin(), d_warnings.end());
    return std::move(d_errors);
  }

  ZoneLoad read() {
    readFile();
    std::shared_ptr<Zone> zone;
    if (d_errors.empty() && d_builder) {  // d_builder is d_own here
      Result<std::shared_ptr<Zone>> finished = d_builder->finish();
      if (finished) zone = std::move(finished).value();
      for (const Error& error : finished.errors()) reportFile(error.message);
    }
    ZoneLoad load{d_errors.empty() ? Result<std::shared_ptr<Zone>>(std::move(zone))
                                   : Result<std::shared_ptr<Zone>>(std::move(d_errors)),
                  std::move(d_warnings)};
    applyZoneChecks(load, d_path, [this](std::string_view owner) -> uint64_t {
      auto it = d_ns_lines.find(owner);
      return it == d_ns_lines.end() ? 0 : it->second;
    });
    return load;
  }

 private:
  void readFile() {
    std::string leading, error;
    if (!leadingOrigin(d_path, leading, error)) return reportFile("cannot read: " + error);
    std::string origin_text = leading;
    d_origin_source = "$ORIGIN";
    if (d_builder && !leading.empty()) {
      // Included into another zone: the file must not name a different one.
      std::string named;
      if (!wire::nameFromText(leading, std::string(1, '\0'), named, error) ||
          named != d_builder->apex())
        return reportFile("$ORIGIN " + leading + " is not the zone " +
                          wire::nameToText(d_builder->apex()) + " that includes this file");
    }
    if (origin_text.empty()) {
      origin_text = d_hint;
      d_origin_source = "the configured origin";
    }
    if (origin_text.empty()) {
      origin_text = originFromFileName(d_path);
      d_origin_source = "the file name";
    }
    std::string apex;
    if (!wire::nameFromText(origin_text, std::string(1, '\0'), apex, error))
      return reportFile("origin '" + origin_text + "' (from " + d_origin_source + "): " + error);
    if (!d_builder) {
      d_builder = &d_own.emplace(apex, d_path);
      // One name per ~24 bytes of file is a dense zone (short A records); a sparser one wastes
      // a few buckets, a denser one rehashes once or twice.
      struct stat st;
      if (::stat(d_path.c_str(), &st) == 0 && st.st_size > 0)
        d_builder->reserve(std::min<size_t>(static_cast<size_t>(st.st_size) / 24, size_t{1} << 24));
    }
    // The CNAME rule is checked as each record is added, so the error names its line.
    struct CnameRule {
      ZoneBuilder& builder;
      bool before = builder.refuseCnameConflicts(true);
      ~CnameRule() { builder.refuseCnameConflicts(before); }
    } cname_rule{*d_builder};

    // The scanner holds several 64 KiB buffers: too big for a reload thread's stack.
    auto scanner = std::make_unique<zs_scanner_t>();
    const std::string apex_text = wire::nameToText(apex);
    if (zs_init(scanner.get(), apex_text.c_str(), wire::klass::IN, kDefaultTtl) != 0) {
      reportFile(std::string("cannot start the zone scanner: ") + zs_strerror(scanner->error.code));
      zs_deinit(scanner.get());
      return;
    }
    if (zs_set_input_file(scanner.get(), d_path.c_str()) != 0) {
      reportFile(std::string("cannot read: ") + zs_strerror(scanner->error.code));
    } else if (zs_set_processing(scanner.get(), &MasterFileReader::onRecord,
                                 &MasterFileReader::onError, this) == 0) {
      zs_parse_all(scanner.get());
    }
    zs_deinit(scanner.get());
  }

  static void onRecord(zs_scanner_t* s) {
    static_cast<MasterFileReader*>(s->process.data)->record(s);
  }
  static void onError(zs_scanner_t* s) {
    static_cast<MasterFileReader*>(s->process.data)->error(s);
  }

  void record(zs_scanner_t* s) {
    if (s->r_class != wire::klass::IN)
      return report(s, "class " + std::to_string(s->r_class) +
                           " is not served; only IN records belong in the zone");
    std::string owner(reinterpret_cast<const char*>(s->r_owner), s->r_owner_length);
    wire::lowerName(reinterpret_cast<uint8_t*>(owner.data()), owner.size());
    std::string rdata(reinterpret_cast<const char*>(s->r_data), s->r_data_length);
    lowerRdataNames(s->r_type, rdata);
    if (s->r_type == wire::type::NS) d_ns_lines.try_emplace(owner, s->line_counter);
    std::optional<Error> warning;
    Result<void> added = d_builder->add(owner, s->r_type, s->r_ttl, std::move(rdata), &warning);
    if (!added) {
      std::string& message = added.errors().front().message;
      if (d_origin_source != "$ORIGIN" && message.find("outside the zone") != std::string::npos)
        message += " (the origin comes from " + d_origin_source +
                   "; start the file with $ORIGIN to name the zone)";
      return report(s, std::move(message));
    }
    if (warning) d_warnings.push_back(at(s, std::move(warning->message)));
  }

  void error(zs_scanner_t* s) {
    std::string message = zs_strerror(s->error.code);
    if (s->error.code == ZS_BAD_NUMBER)
      message +=
          " (or a record type this server does not know: write it in RFC 3597 form, "
          "e.g. TYPE65000 \\# 2 abcd)";
    else if (s->error.code == ZS_UNSUPPORTED_TYPE)
      message +=
          "; write a type this server does not know in RFC 3597 form, e.g. "
          "TYPE65000 \\# 2 abcd";
    else if (s->error.code == ZS_UNPROCESSED_INCLUDE || s->error.code == ZS_UNOPENED_INCLUDE ||
             s->error.code == ZS_FILE_OPEN || s->error.code == ZS_FILE_ACCESS)
      message += std::string(" ($INCLUDE ") + s->include_filename + ")";
    report(s, std::move(message));
  }

  // At the line the scanner is on, in the file it reads (an $INCLUDEd one, or this one).
  Error at(const zs_scanner_t* s, std::string message) const {
    return errorAt(s->file.name ? s->file.name : d_path, static_cast<uint32_t>(s->line_counter), "",
                   std::move(message));
  }

  void report(zs_scanner_t* s, std::string message) {
    if (d_stopped) {
      s->state = ZS_STATE_STOP;
      return;
    }
    if (d_errors.size() == kMaxErrors) {
      reportFile("more than " + std::to_string(kMaxErrors) + " errors; stopping here");
      d_stopped = true;
      s->state = ZS_STATE_STOP;
      return;
    }
    d_errors.push_back(at(s, std::move(message)));
  }

  void reportFile(std::string message) {
    d_errors.push_back(errorAt(d_path, 0, "", std::move(message)));
  }

  const std::string& d_path;
  std::string d_hint;
  std::string d_origin_source;
  std::optional<ZoneBuilder> d_own;
  ZoneBuilder* d_builder = nullptr;  // d_own, or the including zone's builder
  // First line of each NS RRset: the zone checks report missing glue there.
  std::unordered_map<std::string, uint64_t, NameHash, std::equal_to<>> d_ns_lines;
  Errors d_errors;
  Errors d_warnings;
  bool d_stopped = false;
};

}  // namespace

Result<void> readMasterFileInto(const std::string& path, ZoneBuilder& builder, Errors& warnings) {
  try {
    return MasterFileReader(path, "").readInto(builder, warnings);
  } catch (const std::exception& e) {
    return errorAt(path, 0, "", std::string("cannot load: ") + e.what());
  }
}

ZoneLoad loadMasterFile(const std::string& path, std::string origin_hint) {
  try {
    return MasterFileReader(path, std::move(origin_hint)).read();
  } catch (const std::exception& e) {
    return ZoneLoad{errorAt(path, 0, "", std::string("cannot load: ") + e.what()), {}};
  }
}

}  // namespace rrdns::zone
