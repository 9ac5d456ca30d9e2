#include "acm/ste.hpp"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "acm/compiler.hpp"
#include "policy_fixtures.hpp"

namespace shype::acm {
namespace {

TypeSets rows_of(std::initializer_list<std::vector<std::uint32_t>> rows) {
  TypeSets sets;
  for (const auto& r : rows)
    sets.add_row(r);
  return sets;
}

bool brute_share(const TypeSets& s, std::uint32_t a, std::uint32_t b) {
  if (a >= s.rows() || b >= s.rows()) return false;
  for (std::uint32_t t : s.row(a)) {
    if (s.contains(b, t)) return true;
  }
  return false;
}

bool brute_dominates(const TypeSets& s, std::uint32_t sup, std::uint32_t sub) {
  if (sup >= s.rows() || sub >= s.rows()) return false;
  for (std::uint32_t t : s.row(sub)) {
    if (!s.contains(sup, t)) return false;
  }
  return true;
}

// Every representation the index can choose: default, no matrices (bitset
// AND), no bitsets but matrices, neither (bisection and merge).
std::vector<SteIndex::Options> all_option_sets() {
  SteIndex::Options no_matrix;
  no_matrix.big_matrix_budget_bytes = 0;
  SteIndex::Options no_bitsets;
  no_bitsets.big_row_bitset_budget_bytes = 0;
  SteIndex::Options neither;
  neither.big_matrix_budget_bytes = 0;
  neither.big_row_bitset_budget_bytes = 0;
  SteIndex::Options no_build_work;
  no_build_work.big_matrix_build_budget = 0;
  return {SteIndex::Options{}, no_matrix, no_bitsets, neither, no_build_work};
}

TEST(SteIndex, SmallRowsShareIffCommonType) {
  const TypeSets s = rows_of({{}, {0}, {0, 1}, {1, 2, 3, 4}, {5}, {2, 7}});
  auto index = SteIndex::build(s, 8, {});
  ASSERT_TRUE(index) << index.error().to_string();
  EXPECT_TRUE(index->share(1, 2));
  EXPECT_TRUE(index->share(2, 3));  // type 1
  EXPECT_FALSE(index->share(1, 3));
  EXPECT_TRUE(index->share(3, 5));  // type 2 in the middle of a padded row
  EXPECT_FALSE(index->share(4, 5));
  EXPECT_TRUE(index->share(4, 4));
  EXPECT_EQ(index->big_rows(), 0u);
}

TEST(SteIndex, EmptyRowSharesWithNothingAndIsDominatedByAll) {
  const TypeSets s = rows_of({{}, {0}, {0, 1, 2, 3, 4, 5}});
  auto index = SteIndex::build(s, 6, {});
  ASSERT_TRUE(index);
  for (std::uint32_t r = 0; r < 3; ++r) {
    EXPECT_FALSE(index->share(0, r));
    EXPECT_FALSE(index->share(r, 0));
    EXPECT_TRUE(index->dominates(r, 0)) << r;
  }
  EXPECT_FALSE(index->dominates(0, 1));
  EXPECT_FALSE(index->dominates(0, 2));
}

TEST(SteIndex, OutOfRangeRowsNeverShareOrDominate) {
  const TypeSets s = rows_of({{0}, {0}});
  auto index = SteIndex::build(s, 1, {});
  ASSERT_TRUE(index);
  EXPECT_TRUE(index->share(0, 1));
  EXPECT_FALSE(index->share(0, 2));
  EXPECT_FALSE(index->share(2, 0));
  EXPECT_FALSE(index->share(0xffffffffu, 0));
  EXPECT_FALSE(index->dominates(0, 2));
  EXPECT_FALSE(index->dominates(2, 0));
  EXPECT_FALSE(index->common_type(0, 5));
}

// Lane padding repeats the first type, so the extreme type indexes 0 and
// 0xffff need no sentinel and never match by accident.
TEST(SteIndex, ExtremeTypeIndexes) {
  const TypeSets s = rows_of({{0}, {0xffff}, {0, 0xffff}, {1}, {0xfffe, 0xffff}});
  auto index = SteIndex::build(s, kMaxTypes, {});
  ASSERT_TRUE(index);
  EXPECT_FALSE(index->share(0, 1));
  EXPECT_TRUE(index->share(0, 2));
  EXPECT_TRUE(index->share(1, 2));
  EXPECT_FALSE(index->share(3, 0));
  EXPECT_FALSE(index->share(3, 1));
  EXPECT_TRUE(index->share(4, 1));
  EXPECT_TRUE(index->dominates(2, 0));
  EXPECT_TRUE(index->dominates(2, 1));
  EXPECT_FALSE(index->dominates(0, 2));
  EXPECT_FALSE(index->dominates(4, 2));
  EXPECT_EQ(index->common_type(2, 4), 0xffffu);
}

TEST(SteIndex, SmallAgainstBigAndBigAgainstBig) {
  //                     0    1       2                 3                    4
  const TypeSets s = rows_of({{9}, {3, 4}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4, 5}, {5, 6, 7, 8, 9}});
  for (const auto& options : all_option_sets()) {
    auto index = SteIndex::build(s, 10, options);
    ASSERT_TRUE(index);
    EXPECT_EQ(index->big_rows(), 3u);
    EXPECT_TRUE(index->share(1, 2));
    EXPECT_FALSE(index->share(0, 2));
    EXPECT_TRUE(index->share(0, 4));
    EXPECT_TRUE(index->share(2, 3));
    EXPECT_FALSE(index->share(2, 4));
    EXPECT_TRUE(index->share(3, 4));
    EXPECT_TRUE(index->dominates(3, 2));
    EXPECT_FALSE(index->dominates(2, 3));
    EXPECT_TRUE(index->dominates(2, 1));
    EXPECT_FALSE(index->dominates(1, 2));  // 5 types never fit in 2
    EXPECT_TRUE(index->dominates(4, 0));
    EXPECT_FALSE(index->dominates(4, 3));
    EXPECT_TRUE(index->dominates(4, 4));
  }
}

TEST(SteIndex, BudgetsChooseTheRepresentation) {
  const TypeSets s = rows_of({{0, 1, 2, 3, 4}, {1, 2, 3, 4, 5}});
  auto full = SteIndex::build(s, 6, {});
  ASSERT_TRUE(full);
  EXPECT_TRUE(full->has_big_row_bitsets());
  EXPECT_TRUE(full->has_big_matrices());
  const auto options = all_option_sets();
  auto neither = SteIndex::build(s, 6, options[3]);
  ASSERT_TRUE(neither);
  EXPECT_FALSE(neither->has_big_row_bitsets());
  EXPECT_FALSE(neither->has_big_matrices());
  auto no_work = SteIndex::build(s, 6, options[4]);
  ASSERT_TRUE(no_work);
  EXPECT_FALSE(no_work->has_big_matrices());
  EXPECT_GT(full->memory_bytes(), neither->memory_bytes());
}

// Every representation agrees with the definition on random rows, including
// dense ones (many big rows) and type counts that are not multiples of 64.
TEST(SteIndex, AgreesWithDefinitionOnRandomRows) {
  std::mt19937_64 rng(20080101);
  for (int round = 0; round < 60; ++round) {
    const std::uint32_t types = 1 + static_cast<std::uint32_t>(rng() % 150);
    const std::uint32_t rows = 1 + static_cast<std::uint32_t>(rng() % 40);
    TypeSets s;
    for (std::uint32_t r = 0; r < rows; ++r) {
      const std::uint32_t count =
          static_cast<std::uint32_t>(rng() % 3 == 0 ? rng() % (types + 1) : rng() % 6);
      std::vector<std::uint32_t> row;
      for (std::uint32_t i = 0; i < count; ++i)
        row.push_back(static_cast<std::uint32_t>(rng() % types));
      std::sort(row.begin(), row.end());
      row.erase(std::unique(row.begin(), row.end()), row.end());
      s.add_row(row);
    }
    for (const auto& options : all_option_sets()) {
      auto index = SteIndex::build(s, types, options);
      ASSERT_TRUE(index);
      for (std::uint32_t a = 0; a <= rows; ++a) {
        for (std::uint32_t b = 0; b <= rows; ++b) {
          ASSERT_EQ(index->share(a, b), brute_share(s, a, b)) << round << " " << a << " " << b;
          ASSERT_EQ(index->dominates(a, b), brute_dominates(s, a, b))
              << round << " " << a << " " << b;
          ASSERT_EQ(index->common_type(a, b).has_value(), brute_share(s, a, b));
        }
        if (a < rows) {
          const auto row = s.row(a);
          EXPECT_EQ(index->types(a), std::vector<std::uint32_t>(row.begin(), row.end()));
        }
      }
    }
  }
}

TEST(SteIndex, RejectsBrokenRows) {
  EXPECT_FALSE(SteIndex::build(rows_of({{2, 1}}), 3, {}));
  EXPECT_FALSE(SteIndex::build(rows_of({{1, 1}}), 3, {}));
  EXPECT_FALSE(SteIndex::build(rows_of({{3}}), 3, {}));
  EXPECT_FALSE(SteIndex::build(rows_of({{0}}), kMaxTypes + 1, {}));
  const auto bad = SteIndex::build(rows_of({{0}, {5}}), 3, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_NE(bad.error().message.find("row 1"), std::string::npos);
}

TEST(SteIndex, MytestPolicy) {
  auto compiled = compile_policy(testing::mytest_model(), {});
  ASSERT_TRUE(compiled);
  auto index = SteIndex::build(compiled->image);
  ASSERT_TRUE(index);
  const LabelNumbering& n = compiled->numbering;
  const auto row = [&](const char* name) { return *n.vm_label_index(name); };
  const std::uint32_t sys = row("SystemManagement");
  EXPECT_EQ(index->big_rows(), 1u);  // SystemManagement holds all 7 types
  for (const auto& name : n.vm_labels) {
    EXPECT_TRUE(index->dominates(sys, *n.vm_label_index(name))) << name;
    EXPECT_TRUE(index->share(sys, *n.vm_label_index(name))) << name;
  }
  EXPECT_FALSE(index->share(row("A-Bank"), row("B-Bank")));
  EXPECT_FALSE(index->share(row("A-Bank"), row("A-Bank.SecurityUnderwriting")));
  EXPECT_FALSE(index->dominates(row("A-Bank"), row("AutoCorp")));
  EXPECT_TRUE(index->share(row("A-Bank"), *n.resource_ste_row("A-Bank")));
  EXPECT_FALSE(index->share(row("A-Bank"), *n.resource_ste_row("B-Bank")));
  EXPECT_EQ(index->common_type(row("A-Bank"), sys), *n.ste_type_index("A-Bank"));
  EXPECT_EQ(index->first_missing_type(row("A-Bank"), row("AutoCorp")),
            *n.ste_type_index("AutoCorp"));
}

}  // namespace
}  // namespace shype::acm
