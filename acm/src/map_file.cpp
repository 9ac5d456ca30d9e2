#include "acm/map_file.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <utility>

#include "acm/binary_policy.hpp"

namespace shype::acm {
namespace {

constexpr std::uint32_t kMapMagic = 0x0001debc;
constexpr std::string_view kUnlabeledName = "__UNLABELED__";

// ---- writing ---------------------------------------------------------------

std::string hex(std::uint64_t v, int width) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;  // at most 16 digits
  std::string digits(buf, end);
  if (static_cast<int>(digits.size()) < width) {
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  }
  return digits;
}

// Python's "%-20s": left-justified in 20 columns, never truncated.
std::string left20(std::string_view s) {
  std::string out(s);
  if (out.size() < 20) out.append(20 - out.size(), ' ');
  return out;
}

void append_types(std::string& out, std::span<const std::uint32_t> row,
                  const std::vector<std::string>& type_names) {
  for (std::uint32_t t : row) {
    out += ' ';
    out += type_names[t];
  }
}

// ---- reading ---------------------------------------------------------------

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::optional<std::uint32_t> parse_number(std::string_view s, int base) {
  std::uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// A name seen on a line, by index.
struct Named {
  std::string name;
  std::size_t line = 0;  // 0: not named yet
  char kind = 0;         // 'A', 'V', 'R' for label lines
};

class MapReader {
 public:
  MapReader(std::string_view text, const PolicyImage& image) : text_(text), image_(image) {
    ste_types_.resize(image.ste_type_count);
    chwall_types_.resize(image.chwall_type_count);
    if (image.has_ste()) ste_labels_.resize(image.ste_labels.rows());
    if (image.has_chwall()) chwall_labels_.resize(image.chwall_labels.rows());
  }

  Result<PolicyNames> read() {
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos <= text_.size()) {
      std::size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      std::string_view line = text_.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no;
      if (auto s = read_line(line, line_no); !s) return tl::unexpected(s.error());
      pos = nl + 1;
    }
    return finish();
  }

 private:
  tl::unexpected<Error> at_line(std::size_t line, const std::string& what) const {
    return make_error(Errc::malformed_binary,
                      "map file line " + std::to_string(line) + ": " + what);
  }
  static tl::unexpected<Error> whole(const std::string& what) {
    return make_error(Errc::malformed_binary, "map file: " + what);
  }

  Status expect_fields(const std::vector<std::string_view>& f, std::size_t n,
                       std::size_t line) const {
    if (f.size() != n) {
      return at_line(line, std::string(f[0]) + " line has " + std::to_string(f.size()) +
                               " fields, expected " + std::to_string(n));
    }
    return {};
  }

  Status check_count(const std::vector<std::string_view>& f, std::size_t line,
                     std::uint64_t expected, const char* what) const {
    if (auto s = expect_fields(f, 2, line); !s) return s;
    auto v = parse_number(f[1], 16);
    if (!v)
      return at_line(line,
                     std::string(f[0]) + " value '" + std::string(f[1]) + "' is not hexadecimal");
    if (*v != expected) {
      return at_line(line, std::string(f[0]) + " is " + std::string(f[1]) + " but the policy has " +
                               std::to_string(expected) + " " + what);
    }
    return {};
  }

  static const char* component_word(PolicyCode code) {
    switch (code) {
      case PolicyCode::chinese_wall:
        return "CHWALL";
      case PolicyCode::simple_type_enforcement:
        return "STE";
      case PolicyCode::null:
      case PolicyCode::undefined:
        return "NULL";
    }
    return "NULL";
  }

  Status read_line(std::string_view line, std::size_t line_no) {
    const std::vector<std::string_view> f = split_fields(line);
    if (f.empty()) return {};
    const std::string_view key = f[0];
    const std::uint64_t chwall_ssids = image_.has_chwall() ? image_.chwall_labels.rows() : 1;
    const std::uint64_t ste_ssids = image_.has_ste() ? image_.ste_labels.rows() : 1;
    if (key == "POLICYREFERENCENAME") {
      if (auto s = expect_fields(f, 2, line_no); !s) return s;
      if (f[1] != image_.name) {
        return at_line(line_no, "POLICYREFERENCENAME is '" + std::string(f[1]) +
                                    "' but the policy is named '" + image_.name + "'");
      }
      have_name_ = true;
      return {};
    }
    if (key == "MAGIC") {
      if (auto s = expect_fields(f, 2, line_no); !s) return s;
      if (parse_number(f[1], 16) != kMapMagic) {
        return at_line(line_no, "MAGIC is '" + std::string(f[1]) + "', expected 0001debc");
      }
      return {};
    }
    if (key == "POLICFILE" || key == "BINARYFILE") return {};  // paths: informational
    if (key == "MAX-CHWALL-TYPES")
      return check_count(f, line_no, image_.chwall_type_count, "CHWALL types");
    if (key == "MAX-CHWALL-SSIDS" || key == "MAX-CHWALL-LABELS") {
      return check_count(f, line_no, chwall_ssids, "CHWALL ssids");
    }
    if (key == "MAX-STE-TYPES") return check_count(f, line_no, image_.ste_type_count, "STE types");
    if (key == "MAX-STE-SSIDS" || key == "MAX-STE-LABELS") {
      return check_count(f, line_no, ste_ssids, "STE ssids");
    }
    if (key == "PRIMARY") {
      if (auto s = expect_fields(f, 2, line_no); !s) return s;
      if (f[1] != component_word(image_.primary)) {
        return at_line(line_no, "PRIMARY is " + std::string(f[1]) +
                                    " but the policy's primary is " +
                                    component_word(image_.primary));
      }
      return {};
    }
    if (key == "SECONDARY") {
      if (auto s = expect_fields(f, 2, line_no); !s) return s;
      // Xen's tools wrote NULL for a secondary without types.
      const bool typeless =
          (image_.secondary == PolicyCode::simple_type_enforcement && image_.ste_type_count == 0) ||
          (image_.secondary == PolicyCode::chinese_wall && image_.chwall_type_count == 0);
      if (f[1] != component_word(image_.secondary) && !(typeless && f[1] == "NULL")) {
        return at_line(line_no, "SECONDARY is " + std::string(f[1]) +
                                    " but the policy's secondary is " +
                                    component_word(image_.secondary));
      }
      return {};
    }
    if (key == "LABEL->SSID") return read_label(f, line_no);
    if (key == "SSID->TYPE") {
      if (f.size() < 3) return at_line(line_no, "SSID->TYPE line has fewer than 3 fields");
      ssid_type_lines_.push_back({line, line_no});
      return {};
    }
    if (key == "TYPE") return read_type(f, line_no);
    return at_line(line_no, "unknown keyword '" + std::string(key) + "'");
  }

  // Component by name; nullptr (with an error) if absent from the policy.
  Result<std::vector<Named>*> labels_of(std::string_view comp, std::size_t line_no) {
    if (comp == "CHWALL") {
      if (!image_.has_chwall()) return at_line(line_no, "the policy has no CHWALL component");
      return &chwall_labels_;
    }
    if (comp == "STE") {
      if (!image_.has_ste()) return at_line(line_no, "the policy has no STE component");
      return &ste_labels_;
    }
    return at_line(line_no, "unknown component '" + std::string(comp) + "'");
  }

  Status name_ok(std::string_view name, std::size_t line_no, const char* what) const {
    if (auto s = check_binary_name(name); !s) {
      return at_line(line_no,
                     std::string(what) + " '" + std::string(name) + "' " + s.error().message);
    }
    return {};
  }

  Status read_label(const std::vector<std::string_view>& f, std::size_t line_no) {
    if (auto s = expect_fields(f, 5, line_no); !s) return s;
    const std::string_view kind = f[1];
    char k = 0;
    if (kind == "ANY") k = 'A';
    if (kind == "VM") k = 'V';
    if (kind == "RES") k = 'R';
    if (k == 0)
      return at_line(line_no, "label kind '" + std::string(kind) + "' is not ANY, VM or RES");
    auto labels = labels_of(f[2], line_no);
    if (!labels) return tl::unexpected(labels.error());
    if (k == 'R' && f[2] != "STE") return at_line(line_no, "resource labels have only STE ssids");
    if (auto s = name_ok(f[3], line_no, "label name"); !s) return s;
    auto ssid = parse_number(f[4], 16);
    if (!ssid) return at_line(line_no, "ssid '" + std::string(f[4]) + "' is not hexadecimal");
    std::vector<Named>& table = **labels;
    if (*ssid >= table.size()) {
      return at_line(line_no, std::string(f[2]) + " ssid " + hex(*ssid, 0) + " is not below the " +
                                  std::to_string(table.size()) + " rows of the policy");
    }
    if ((k == 'A') != (*ssid == 0)) {
      return at_line(line_no, "ssid 0 and only ssid 0 is listed as ANY");
    }
    Named& slot = table[*ssid];
    if (slot.line != 0) {
      return at_line(line_no, std::string(f[2]) + " ssid " + hex(*ssid, 0) +
                                  " is already named on line " + std::to_string(slot.line));
    }
    slot = Named{std::string(f[3]), line_no, k};
    return {};
  }

  Status read_type(const std::vector<std::string_view>& f, std::size_t line_no) {
    if (auto s = expect_fields(f, 4, line_no); !s) return s;
    std::vector<Named>* table = nullptr;
    if (f[1] == "CHWALL") table = &chwall_types_;
    if (f[1] == "STE") table = &ste_types_;
    if (!table) return at_line(line_no, "unknown component '" + std::string(f[1]) + "'");
    if (auto s = name_ok(f[2], line_no, "type name"); !s) return s;
    auto index = parse_number(f[3], 10);
    if (!index) return at_line(line_no, "type index '" + std::string(f[3]) + "' is not decimal");
    if (*index >= table->size()) {
      return at_line(line_no, std::string(f[1]) + " type index " + std::to_string(*index) +
                                  " is not below the policy's " + std::to_string(table->size()) +
                                  " " + std::string(f[1]) + " types");
    }
    Named& slot = (*table)[*index];
    if (slot.line != 0) {
      return at_line(line_no, std::string(f[1]) + " type " + std::to_string(*index) +
                                  " is already named on line " + std::to_string(slot.line));
    }
    slot = Named{std::string(f[2]), line_no, 'T'};
    return {};
  }

  static Status all_named(const std::vector<Named>& table, const char* what) {
    for (std::size_t i = 0; i < table.size(); ++i) {
      if (table[i].line == 0) {
        return whole(std::string(what) + " " + std::to_string(i) + " is not named by any line");
      }
    }
    return {};
  }

  using TypeIndex = std::vector<std::pair<std::string_view, std::uint32_t>>;

  static TypeIndex index_types(const std::vector<Named>& types) {
    TypeIndex index;
    index.reserve(types.size());
    for (std::size_t i = 0; i < types.size(); ++i) {
      index.emplace_back(types[i].name, static_cast<std::uint32_t>(i));
    }
    std::sort(index.begin(), index.end());
    return index;
  }

  // Checks every SSID->TYPE line against the image's rows.
  Status check_ssid_types() const {
    const TypeIndex chwall_index = index_types(chwall_types_);
    const TypeIndex ste_index = index_types(ste_types_);
    for (const auto& [line, line_no] : ssid_type_lines_) {
      const std::vector<std::string_view> f = split_fields(line);
      const bool chwall = f[1] == "CHWALL";
      if (!chwall && f[1] != "STE")
        return at_line(line_no, "unknown component '" + std::string(f[1]) + "'");
      if (chwall ? !image_.has_chwall() : !image_.has_ste()) {
        return at_line(line_no, "the policy has no " + std::string(f[1]) + " component");
      }
      const TypeSets& rows = chwall ? image_.chwall_labels : image_.ste_labels;
      const TypeIndex& types = chwall ? chwall_index : ste_index;
      auto ssid = parse_number(f[2], 16);
      if (!ssid) return at_line(line_no, "ssid '" + std::string(f[2]) + "' is not hexadecimal");
      if (*ssid >= rows.rows()) {
        return at_line(line_no, std::string(f[1]) + " ssid " + hex(*ssid, 0) +
                                    " is not below the " + std::to_string(rows.rows()) +
                                    " rows of the policy");
      }
      if (*ssid == 0 && f.size() == 3) continue;  // Xen lists no types for ssid 0
      std::vector<std::uint32_t> listed;
      for (std::size_t i = 3; i < f.size(); ++i) {
        auto it = std::lower_bound(
            types.begin(), types.end(), f[i],
            [](const auto& entry, std::string_view key) { return entry.first < key; });
        if (it == types.end() || it->first != f[i]) {
          return at_line(line_no,
                         "unknown " + std::string(f[1]) + " type '" + std::string(f[i]) + "'");
        }
        listed.push_back(it->second);
      }
      std::sort(listed.begin(), listed.end());
      listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
      auto row = rows.row(*ssid);
      if (!std::equal(listed.begin(), listed.end(), row.begin(), row.end())) {
        return at_line(line_no, std::string(f[1]) + " ssid " + hex(*ssid, 0) + " lists " +
                                    std::to_string(listed.size()) +
                                    " types that differ from the policy's row (" +
                                    std::to_string(row.size()) + " types)");
      }
    }
    return {};
  }

  Result<PolicyNames> finish() {
    if (!have_name_) return whole("no POLICYREFERENCENAME line");
    if (auto s = all_named(ste_types_, "STE type"); !s) return tl::unexpected(s.error());
    if (auto s = all_named(chwall_types_, "CHWALL type"); !s) return tl::unexpected(s.error());
    if (auto s = all_named(chwall_labels_, "CHWALL ssid"); !s) return tl::unexpected(s.error());
    if (auto s = all_named(ste_labels_, "STE ssid"); !s) return tl::unexpected(s.error());

    // Where VM rows end: CHWALL has exactly the VM rows; without CHWALL the
    // STE lines' kinds say it (VM lines first, then RES lines).
    std::size_t vm_count = chwall_labels_.size();
    if (!image_.has_chwall()) {
      vm_count = 1;
      while (vm_count < ste_labels_.size() && ste_labels_[vm_count].kind == 'V')
        ++vm_count;
    }
    for (std::size_t ssid = 1; ssid < ste_labels_.size(); ++ssid) {
      const Named& n = ste_labels_[ssid];
      const char expected = ssid < vm_count ? 'V' : 'R';
      if (n.kind != expected) {
        return at_line(n.line, "STE ssid " + hex(ssid, 0) + " is a " +
                                   (n.kind == 'V' ? "VM" : "resource") + " label but ssid " +
                                   hex(ssid, 0) + " is a " + (expected == 'V' ? "VM" : "resource") +
                                   " row (the policy has " + std::to_string(vm_count) +
                                   " VM labels)");
      }
      if (ssid < vm_count && image_.has_chwall() && n.name != chwall_labels_[ssid].name) {
        return at_line(n.line, "STE ssid " + hex(ssid, 0) + " is '" + n.name +
                                   "' but CHWALL ssid " + hex(ssid, 0) + " on line " +
                                   std::to_string(chwall_labels_[ssid].line) + " is '" +
                                   chwall_labels_[ssid].name + "'");
      }
    }
    if (auto s = check_ssid_types(); !s) return tl::unexpected(s.error());

    PolicyNames names;
    for (const auto& t : ste_types_)
      names.ste_types.push_back(t.name);
    for (const auto& t : chwall_types_)
      names.chwall_types.push_back(t.name);
    const std::vector<Named>& vm_source = image_.has_chwall() ? chwall_labels_ : ste_labels_;
    for (std::size_t i = 0; i < vm_count && i < vm_source.size(); ++i) {
      names.vm_labels.push_back(vm_source[i].name);
    }
    // Label 0: __UNLABELED__ if either ANY line says so (Xen named each
    // component's ssid 0 separately).
    if (!ste_labels_.empty() && ste_labels_[0].name == kUnlabeledName && !names.vm_labels.empty()) {
      names.vm_labels[0] = kUnlabeledName;
    }
    for (std::size_t ssid = vm_count; ssid < ste_labels_.size(); ++ssid) {
      names.resource_labels.push_back(ste_labels_[ssid].name);
    }
    for (std::uint32_t c = 0; c < image_.conflict_sets.rows(); ++c) {
      names.conflict_sets.push_back("set" + std::to_string(c));
    }
    return names;
  }

  struct LineRef {
    std::string_view line;
    std::size_t line_no;
  };

  std::string_view text_;
  const PolicyImage& image_;
  bool have_name_ = false;
  std::vector<Named> ste_types_, chwall_types_, ste_labels_, chwall_labels_;
  std::vector<LineRef> ssid_type_lines_;
};

}  // namespace

std::string write_map_file(const PolicyImage& image, std::string_view xml_path,
                           std::string_view bin_path) {
  if (!image.names) throw std::invalid_argument("write_map_file: the image has no names");
  if (auto s = validate_image(image); !s) {
    throw std::invalid_argument("write_map_file: " + s.error().message);
  }
  const PolicyNames& n = *image.names;
  const bool chwall = image.has_chwall();
  const bool ste = image.has_ste();
  const std::uint32_t chwall_ssids = chwall ? image.chwall_labels.rows() : 1;
  const std::uint32_t ste_ssids = ste ? image.ste_labels.rows() : 1;

  std::string out;
  out += "POLICYREFERENCENAME    " + image.name + "\n";
  out += "MAGIC                  " + hex(kMapMagic, 8) + "\n";
  out += "POLICFILE              " + std::string(xml_path) + "\n";
  out += "BINARYFILE             " + std::string(bin_path) + "\n";
  out += "MAX-CHWALL-TYPES       " + hex(image.chwall_type_count, 8) + "\n";
  out += "MAX-CHWALL-SSIDS       " + hex(chwall_ssids, 8) + "\n";
  out += "MAX-CHWALL-LABELS      " + hex(chwall_ssids, 8) + "\n";
  out += "MAX-STE-TYPES          " + hex(image.ste_type_count, 8) + "\n";
  out += "MAX-STE-SSIDS          " + hex(ste_ssids, 8) + "\n";
  out += "MAX-STE-LABELS         " + hex(ste_ssids, 8) + "\n";
  out += "\n";

  auto word = [](PolicyCode code) -> std::string {
    return code == PolicyCode::chinese_wall ? "CHWALL" : "STE";
  };
  out += "PRIMARY                " + word(image.primary) + "\n";
  const bool typeless_secondary =
      image.secondary == PolicyCode::null ||
      (image.secondary == PolicyCode::simple_type_enforcement && image.ste_type_count == 0) ||
      (image.secondary == PolicyCode::chinese_wall && image.chwall_type_count == 0);
  // Xen's tools print the NULL line with one space less; kept byte-exact.
  out += typeless_secondary ? std::string("SECONDARY             NULL\n")
                            : "SECONDARY              " + word(image.secondary) + "\n";
  out += "\n";

  if (chwall) {
    out += "LABEL->SSID ANY CHWALL " + left20(n.vm_labels[0]) + " " + hex(0, 0) + "\n";
    for (std::uint32_t i = 1; i < image.vm_label_count; ++i) {
      out += "LABEL->SSID VM  CHWALL " + left20(n.vm_labels[i]) + " " + hex(i, 0) + "\n";
    }
    out += "\n";
  }
  if (ste) {
    out += "LABEL->SSID ANY STE    " + left20(n.vm_labels[0]) + " " + hex(0, 8) + "\n";
    for (std::uint32_t i = 1; i < image.vm_label_count; ++i) {
      out += "LABEL->SSID VM  STE    " + left20(n.vm_labels[i]) + " " + hex(i, 0) + "\n";
    }
    for (std::size_t r = 0; r < n.resource_labels.size(); ++r) {
      out += "LABEL->SSID RES STE    " + left20(n.resource_labels[r]) + " " +
             hex(image.vm_label_count + r, 0) + "\n";
    }
    out += "\n";
  }
  if (chwall) {
    out += "SSID->TYPE CHWALL      " + hex(0, 8) + "\n";
    for (std::uint32_t i = 1; i < image.chwall_labels.rows(); ++i) {
      out += "SSID->TYPE CHWALL      " + hex(i, 8);
      append_types(out, image.chwall_labels.row(i), n.chwall_types);
      out += "\n";
    }
    out += "\n";
  }
  if (ste) {
    out += "SSID->TYPE STE         " + hex(0, 8) + "\n";
    for (std::uint32_t i = 1; i < image.ste_labels.rows(); ++i) {
      out += "SSID->TYPE STE         " + hex(i, 8);
      append_types(out, image.ste_labels.row(i), n.ste_types);
      out += "\n";
    }
    out += "\n";
  }
  if (image.chwall_type_count > 0) {
    for (std::uint32_t t = 0; t < image.chwall_type_count; ++t) {
      out += "TYPE CHWALL            " + left20(n.chwall_types[t]) + " " + std::to_string(t) + "\n";
    }
    out += "\n";
  }
  if (image.ste_type_count > 0) {
    for (std::uint32_t t = 0; t < image.ste_type_count; ++t) {
      out += "TYPE STE               " + left20(n.ste_types[t]) + " " + std::to_string(t) + "\n";
    }
    out += "\n";
  }
  out += "\n";
  return out;
}

Result<PolicyNames> read_map_file(std::string_view text, const PolicyImage& image) {
  return MapReader(text, image).read();
}

Result<PolicyImage> attach_map_names(PolicyImage image, std::string_view text) {
  auto names = read_map_file(text, image);
  if (!names) return tl::unexpected(names.error());
  if (!image.has_chwall())
    image.vm_label_count = static_cast<std::uint32_t>(names->vm_labels.size());
  image.names = std::move(*names);
  if (auto s = validate_image(image); !s) {
    return make_error(s.error().code, "map file: " + s.error().message);
  }
  return image;
}

std::vector<MapLabel> map_labels(const PolicyImage& image) {
  if (!image.names) throw std::invalid_argument("map_labels: the image has no names");
  const PolicyNames& n = *image.names;
  std::vector<MapLabel> out;
  out.reserve(n.vm_labels.size() + n.resource_labels.size());
  for (std::size_t i = 0; i < n.vm_labels.size(); ++i) {
    const auto index = static_cast<std::uint32_t>(i);
    out.push_back(
        {n.vm_labels[i], i == 0 ? 'A' : 'V', i == 0 ? kUnlabeledSsidref : vm_ssidref(index)});
  }
  for (std::size_t r = 0; r < n.resource_labels.size(); ++r) {
    const auto row = static_cast<std::uint32_t>(n.vm_labels.size() + r);
    out.push_back({n.resource_labels[r], 'R', resource_ssidref(row)});
  }
  return out;
}

Result<Ssidref> find_label_ssidref(std::span<const MapLabel> labels, std::string_view name,
                                   char kind) {
  if (kind != 'V' && kind != 'R') {
    return make_error(Errc::invalid_argument,
                      std::string("label kind '") + kind + "' is not 'V' (VM) or 'R' (resource)");
  }
  std::optional<Ssidref> found;
  std::size_t matches = 0;
  for (const auto& label : labels) {
    if (label.name != name || (label.kind != kind && label.kind != 'A')) continue;
    ++matches;
    found = label.ssidref;
  }
  if (matches == 0)
    return make_error(Errc::not_found, "Label '" + std::string(name) + "' not found.");
  if (matches > 1) {
    return make_error(Errc::not_found,
                      "Label '" + std::string(name) + "' not unique in policy (policy error)");
  }
  return *found;
}

}  // namespace shype::acm
