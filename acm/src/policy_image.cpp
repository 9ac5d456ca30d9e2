#include "acm/policy_image.hpp"

#include <algorithm>

namespace shype::acm {

const char* policy_code_name(PolicyCode code) noexcept {
  switch (code) {
    case PolicyCode::null:
      return "NULL";
    case PolicyCode::chinese_wall:
      return "CHINESE WALL";
    case PolicyCode::simple_type_enforcement:
      return "SIMPLE TYPE ENFORCEMENT";
    case PolicyCode::undefined:
      return "UNDEFINED";
  }
  return "UNDEFINED";
}

void TypeSets::add_row(std::span<const std::uint32_t> row_types) {
  types_.insert(types_.end(), row_types.begin(), row_types.end());
  offsets_.push_back(static_cast<std::uint32_t>(types_.size()));
}

void TypeSets::reserve(std::size_t rows, std::size_t entries) {
  offsets_.reserve(rows + 1);
  types_.reserve(entries);
}

bool TypeSets::contains(std::uint32_t r, std::uint32_t type) const noexcept {
  if (r >= rows()) return false;
  auto span = row(r);
  return std::binary_search(span.begin(), span.end(), type);
}

}  // namespace shype::acm
