#include "acm/ste.hpp"

#include <algorithm>
#include <string>

namespace shype::acm {
namespace {

bool test_bit(const std::uint64_t* words, std::uint32_t bit) noexcept {
  return ((words[bit >> 6] >> (bit & 63u)) & 1u) != 0;
}

void set_bit(std::uint64_t* words, std::uint32_t bit) noexcept {
  words[bit >> 6] |= std::uint64_t{1} << (bit & 63u);
}

}  // namespace

Result<SteIndex> SteIndex::build(const PolicyImage& image) {
  return build(image, Options{});
}

Result<SteIndex> SteIndex::build(const PolicyImage& image, const Options& options) {
  return build(image.ste_labels, image.ste_type_count, options);
}

Result<SteIndex> SteIndex::build(const TypeSets& rows, std::uint32_t type_count,
                                 const Options& options) {
  if (rows.rows() > kMaxRows) {
    return make_error(Errc::invalid_argument, "STE policy has " + std::to_string(rows.rows()) +
                                                  " label rows; the limit is " +
                                                  std::to_string(kMaxRows));
  }
  if (type_count > kMaxTypes) {
    return make_error(Errc::invalid_argument, "STE policy has " + std::to_string(type_count) +
                                                  " types; the limit is " +
                                                  std::to_string(kMaxTypes));
  }

  SteIndex index;
  index.type_count_ = type_count;
  index.records_.resize(rows.rows());
  for (std::uint32_t r = 0; r < rows.rows(); ++r) {
    const auto row = rows.row(r);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (row[i] >= type_count || (i > 0 && row[i] <= row[i - 1])) {
        return make_error(Errc::invalid_argument,
                          "STE label row " + std::to_string(r) +
                              " is not a strictly ascending list of types below " +
                              std::to_string(type_count));
      }
    }
    Record& record = index.records_[r];
    record.count = static_cast<std::uint32_t>(row.size());
    if (row.empty()) {
      record.tag = kEmptyTag;
    } else if (row.size() <= kInlineTypes) {
      record.tag = kSmallTag;
      record.lanes = 0;
      for (std::uint32_t i = 0; i < kInlineTypes; ++i) {
        // Padding repeats the first type: the lanes still hold the same set.
        const std::uint64_t type = i < row.size() ? row[i] : row[0];
        record.lanes |= type << (16 * i);
      }
    } else {
      record.tag = kFirstBigTag + index.big_count_++;
      for (std::uint32_t t : row)
        index.big_types_.push_back(static_cast<std::uint16_t>(t));
      index.big_offsets_.push_back(static_cast<std::uint32_t>(index.big_types_.size()));
    }
  }

  index.type_words_ = (std::size_t{type_count} + 63) / 64;
  const std::size_t bitset_bytes = std::size_t{index.big_count_} * index.type_words_ * 8;
  if (index.big_count_ > 0 && bitset_bytes <= options.big_row_bitset_budget_bytes) {
    index.big_bits_.assign(std::size_t{index.big_count_} * index.type_words_, 0);
    for (std::uint32_t b = 0; b < index.big_count_; ++b) {
      std::uint64_t* words = index.big_bits_.data() + std::size_t{b} * index.type_words_;
      for (std::uint16_t t : index.big_types(b))
        set_bit(words, t);
    }
  }
  index.build_big_matrices(options);
  return index;
}

// share[x][y] = some type holds both; dominance[x][y] = types(y) within
// types(x). Both come from the inverted lists type -> big rows holding it,
// so the work is the sum over types of (rows holding it)^2.
void SteIndex::build_big_matrices(const Options& options) {
  const std::uint32_t b_count = big_count_;
  if (b_count == 0) return;
  const std::size_t words = (std::size_t{b_count} + 63) / 64;
  if (2 * std::size_t{b_count} * words * 8 > options.big_matrix_budget_bytes) return;

  std::vector<std::uint32_t> holders_offsets(std::size_t{type_count_} + 1, 0);
  for (std::uint16_t t : big_types_)
    ++holders_offsets[std::size_t{t} + 1];
  std::uint64_t work = 0;
  for (std::uint32_t t = 0; t < type_count_; ++t) {
    const std::uint64_t n = holders_offsets[std::size_t{t} + 1];
    work += n * n;
    holders_offsets[std::size_t{t} + 1] += holders_offsets[t];
  }
  if (2 * work > options.big_matrix_build_budget) return;

  std::vector<std::uint32_t> holders(big_types_.size());
  std::vector<std::uint32_t> fill(holders_offsets.begin(), holders_offsets.end() - 1);
  for (std::uint32_t b = 0; b < b_count; ++b) {
    for (std::uint16_t t : big_types(b))
      holders[fill[t]++] = b;
  }

  big_words_ = words;
  share_matrix_.assign(std::size_t{b_count} * words, 0);
  dominance_matrix_.assign(std::size_t{b_count} * words, 0);
  std::vector<std::uint32_t> hits(b_count, 0);
  std::vector<std::uint32_t> touched;
  for (std::uint32_t b = 0; b < b_count; ++b) {
    std::uint64_t* share_row = share_matrix_.data() + std::size_t{b} * words;
    const auto own = big_types(b);
    touched.clear();
    for (std::uint16_t t : own) {
      for (std::uint32_t i = holders_offsets[t]; i < holders_offsets[std::size_t{t} + 1]; ++i) {
        const std::uint32_t other = holders[i];
        set_bit(share_row, other);
        if (hits[other]++ == 0) touched.push_back(other);
      }
    }
    // `other` holds every type of b iff it was hit once per type of b.
    for (std::uint32_t other : touched) {
      if (hits[other] == own.size()) {
        set_bit(dominance_matrix_.data() + std::size_t{other} * words, b);
      }
      hits[other] = 0;
    }
  }
}

bool SteIndex::big_has(std::uint32_t big, std::uint32_t type) const noexcept {
  if (!big_bits_.empty()) return test_bit(big_bits_.data() + std::size_t{big} * type_words_, type);
  const auto row = big_types(big);
  return std::binary_search(row.begin(), row.end(), static_cast<std::uint16_t>(type));
}

bool SteIndex::big_has_any(std::uint32_t big, std::uint64_t lanes) const noexcept {
  return big_has(big, lane(lanes, 0)) || big_has(big, lane(lanes, 1)) ||
         big_has(big, lane(lanes, 2)) || big_has(big, lane(lanes, 3));
}

bool SteIndex::big_has_all(std::uint32_t big, std::uint64_t lanes) const noexcept {
  return big_has(big, lane(lanes, 0)) && big_has(big, lane(lanes, 1)) &&
         big_has(big, lane(lanes, 2)) && big_has(big, lane(lanes, 3));
}

bool SteIndex::big_share_fallback(std::uint32_t x, std::uint32_t y) const noexcept {
  if (!big_bits_.empty()) {
    const std::uint64_t* a = big_bits_.data() + std::size_t{x} * type_words_;
    const std::uint64_t* b = big_bits_.data() + std::size_t{y} * type_words_;
    for (std::size_t w = 0; w < type_words_; ++w) {
      if ((a[w] & b[w]) != 0) return true;
    }
    return false;
  }
  const auto a = big_types(x);
  const auto b = big_types(y);
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

bool SteIndex::big_dominates_fallback(std::uint32_t sup, std::uint32_t sub) const noexcept {
  if (!big_bits_.empty()) {
    const std::uint64_t* a = big_bits_.data() + std::size_t{sup} * type_words_;
    const std::uint64_t* b = big_bits_.data() + std::size_t{sub} * type_words_;
    for (std::size_t w = 0; w < type_words_; ++w) {
      if ((b[w] & ~a[w]) != 0) return false;
    }
    return true;
  }
  const auto a = big_types(sup);
  const auto b = big_types(sub);
  return std::includes(a.begin(), a.end(), b.begin(), b.end());
}

bool SteIndex::share_slow(const Record& a, const Record& b) const noexcept {
  if (a.tag == kEmptyTag || b.tag == kEmptyTag) return false;
  if (a.tag == kSmallTag) return big_has_any(b.tag - kFirstBigTag, a.lanes);
  if (b.tag == kSmallTag) return big_has_any(a.tag - kFirstBigTag, b.lanes);
  const std::uint32_t x = a.tag - kFirstBigTag;
  const std::uint32_t y = b.tag - kFirstBigTag;
  if (!share_matrix_.empty())
    return test_bit(share_matrix_.data() + std::size_t{x} * big_words_, y);
  return big_share_fallback(x, y);
}

bool SteIndex::dominates_slow(const Record& sup, const Record& sub) const noexcept {
  if (sub.tag == kEmptyTag) return true;  // the empty set is a subset of every set
  if (sup.tag == kEmptyTag) return false;
  if (sub.tag == kSmallTag) return big_has_all(sup.tag - kFirstBigTag, sub.lanes);
  if (sup.tag == kSmallTag) return false;  // more than 4 types never fit in at most 4
  const std::uint32_t x = sup.tag - kFirstBigTag;
  const std::uint32_t y = sub.tag - kFirstBigTag;
  if (!dominance_matrix_.empty()) {
    return test_bit(dominance_matrix_.data() + std::size_t{x} * big_words_, y);
  }
  return big_dominates_fallback(x, y);
}

std::vector<std::uint32_t> SteIndex::types(std::uint32_t row) const {
  std::vector<std::uint32_t> out;
  if (row >= records_.size()) return out;
  const Record& r = records_[row];
  if (r.tag == kEmptyTag) return out;
  if (r.tag == kSmallTag) {
    // Lanes 0..count-1 hold the ascending types; the rest is padding.
    for (std::uint32_t i = 0; i < r.count; ++i)
      out.push_back(lane(r.lanes, i));
    return out;
  }
  for (std::uint16_t t : big_types(r.tag - kFirstBigTag))
    out.push_back(t);
  return out;
}

std::optional<std::uint32_t> SteIndex::common_type(std::uint32_t row_a, std::uint32_t row_b) const {
  const auto a = types(row_a);
  const auto b = types(row_b);
  std::vector<std::uint32_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  if (both.empty()) return std::nullopt;
  return both.front();
}

std::optional<std::uint32_t> SteIndex::first_missing_type(std::uint32_t super_row,
                                                          std::uint32_t sub_row) const {
  const auto sup = types(super_row);
  for (std::uint32_t t : types(sub_row)) {
    if (!std::binary_search(sup.begin(), sup.end(), t)) return t;
  }
  return std::nullopt;
}

std::size_t SteIndex::memory_bytes() const noexcept {
  return records_.capacity() * sizeof(Record) + big_offsets_.capacity() * sizeof(std::uint32_t) +
         big_types_.capacity() * sizeof(std::uint16_t) +
         (big_bits_.capacity() + share_matrix_.capacity() + dominance_matrix_.capacity()) *
             sizeof(std::uint64_t);
}

}  // namespace shype::acm
