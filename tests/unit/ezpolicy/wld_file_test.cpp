// .wld files: the original format read and written, malformed files named
// by file:line:reason, and crash-safe saving.
#include "ezpolicy/wld_file.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "fixtures.hpp"

namespace shype::ezpolicy {
namespace {

using testing::figure_10_2;
using testing::kFigure10_2Wld;
using testing::ScratchDir;

TEST(WldFile, WritesTheOriginalFormat) {
  EXPECT_EQ(format_wld(figure_10_2()), kFigure10_2Wld);
  EXPECT_EQ(format_wld(WorkloadDefinition::initial()),
            "ezpolicy = {'orgs': [['__UNLABELED__', []]], 'cons': []}");
}

TEST(WldFile, ReadsTheOriginalFormat) {
  auto parsed = parse_wld(kFigure10_2Wld, "mytest.wld");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, figure_10_2());
}

TEST(WldFile, RoundTrip) {
  WorkloadDefinition d = figure_10_2();
  d.organizations.push_back({"O'Brien", {"Q\"A", "Zürich"}});
  d.rules.push_back({"Named-Rule", {"AutoCorp", "O'Brien.Q\"A"}});
  const std::string text = format_wld(d);
  EXPECT_NE(text.find("\"O'Brien\""), std::string::npos) << text;  // Python's repr quoting
  EXPECT_NE(text.find("'Q\"A'"), std::string::npos) << text;
  auto parsed = parse_wld(text, "x.wld");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, d);
  EXPECT_EQ(format_wld(*parsed), text);
}

// What Python 2 with a unicode wx build printed, laid out over lines, with
// tuples, comments, keys in the other order and unsorted rule members.
TEST(WldFile, ReadsPythonVariants) {
  const char* text =
      "# saved by hand\n"
      "ezpolicy = {\n"
      "  u'cons': [(u'', [u'B-Bank', u'A-Bank', \"__UNLABELED__\"]),],\n"
      "  u'orgs': [[u'__UNLABELED__', []], [u'A-Bank', [u'Caf\\xe9']],\n"
      "            ['B-Bank', ()], ['Z\\xc3\\xbcrich', []]],\n"
      "}\n";
  auto parsed = parse_wld(text, "v.wld");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_EQ(parsed->organizations.size(), 4u);
  EXPECT_EQ(parsed->organizations[1].departments[0], "Caf\xc3\xa9");  // code point U+00E9
  EXPECT_EQ(parsed->organizations[3].name, "Z\xc3\xbcrich");          // bytes of a str
  ASSERT_EQ(parsed->rules.size(), 1u);
  EXPECT_EQ(parsed->rules[0].members,
            (std::vector<std::string>{"A-Bank", "B-Bank", "__UNLABELED__"}));
}

struct Malformed {
  const char* text;
  unsigned line;
  const char* reason;
};

class WldMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(WldMalformed, NamesFileLineAndReason) {
  const Malformed& m = GetParam();
  auto parsed = parse_wld(m.text, "bad.wld");
  ASSERT_FALSE(parsed) << m.text;
  EXPECT_EQ(parsed.error().where.file, "bad.wld");
  EXPECT_EQ(parsed.error().where.line, m.line) << parsed.error().to_string();
  const std::string shown = parsed.error().to_string();
  EXPECT_EQ(shown.rfind("bad.wld:" + std::to_string(m.line) + ": ", 0), 0u) << shown;
  EXPECT_NE(shown.find(m.reason), std::string::npos) << shown;
}

INSTANTIATE_TEST_SUITE_P(
    Files, WldMalformed,
    ::testing::Values(
        Malformed{"", 1, "expected 'ezpolicy = {...}'"},
        Malformed{"policy = {}", 1, "expected 'ezpolicy = {...}'"},
        Malformed{"ezpolicy {}", 1, "expected '=' after 'ezpolicy'"},
        Malformed{"ezpolicy = {'orgs': [\n['A', []]\n", 3, "expected ',' or ']'"},
        Malformed{"ezpolicy = {'orgs': [['A\n', []]]}", 1, "unterminated string"},
        Malformed{"ezpolicy = {'orgs': []}\nprint(1)", 2, "unexpected text after"},
        Malformed{"ezpolicy = []", 1, "'ezpolicy' must be a dict"},
        Malformed{"ezpolicy = {'cons': []}", 1, "has no 'orgs'"},
        Malformed{"ezpolicy = {'orgs': [],\n 'extra': []}", 2, "unknown key 'extra'"},
        Malformed{"ezpolicy = {'orgs': [\n['A', []],\n['A', []]]}", 3,
                  "organization 'A' is defined twice"},
        Malformed{"ezpolicy = {'orgs': [\n['A', ['D',\n'D']]]}", 3, "has department 'D' twice"},
        Malformed{"ezpolicy = {'orgs': [\n['A B', []]]}", 2, "whitespace"},
        Malformed{"ezpolicy = {'orgs': [['A', []]], 'cons': [\n['', ['A',\n'Nope']]]}", 3,
                  "undefined workload type 'Nope'"},
        Malformed{"ezpolicy = {'orgs': [['A', ['D']]], 'cons': [\n['', ['A', 'A.D']]]}", 2,
                  "invalid selection [ A, A.D ]"},
        Malformed{"ezpolicy = {'orgs': [['A', []]], 'cons': [\n['', []]]}", 2, "has no members"},
        Malformed{"ezpolicy = {'orgs': [['A', 'D']]}", 1, "must be a list, not a string"},
        Malformed{"ezpolicy = {'orgs': [['A']]}", 1, "must be [name, [...]]"},
        Malformed{"ezpolicy = {'orgs': [[1, []]]}", 1, "expected a string, a list or a dict"},
        Malformed{"ezpolicy = {'orgs': [['A\\x4', []]]}", 1, "invalid \\x escape"}));

TEST(WldFile, DeepNestingRefused) {
  const std::string text = "ezpolicy = " + std::string(100000, '[');
  auto parsed = parse_wld(text, "deep.wld");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("nested too deeply"), std::string::npos);
}

TEST(WldFile, LoadNamesMissingFile) {
  ScratchDir dir;
  auto loaded = load_wld_file(dir.path() / "missing.wld");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, acm::Errc::io_error);
  EXPECT_NE(loaded.error().to_string().find("missing.wld"), std::string::npos);
}

TEST(WldFile, SaveAndLoad) {
  ScratchDir dir;
  const auto path = dir.path() / "mytest.wld";
  ASSERT_TRUE(save_wld_file(path, figure_10_2()));
  auto text = acm::read_text_file(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, kFigure10_2Wld);  // no trailing newline
  auto loaded = load_wld_file(path);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(*loaded, figure_10_2());
}

TEST(WldFile, FailedSaveKeepsTheOldFileAndLeavesNoTemporary) {
  ScratchDir dir;
  const auto path = dir.path() / "keep.wld";
  ASSERT_TRUE(save_wld_file(path, figure_10_2()));
  // A definition that breaks the rules is never written.
  WorkloadDefinition bad = figure_10_2();
  bad.organizations.push_back({"A-Bank", {}});
  EXPECT_FALSE(save_wld_file(path, bad));
  // A target that cannot be replaced (a non-empty directory in its place).
  const auto blocked = dir.path() / "blocked.wld";
  std::filesystem::create_directories(blocked / "inside");
  auto failed = save_wld_file(blocked, figure_10_2());
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, acm::Errc::io_error);
  EXPECT_EQ(*acm::read_text_file(path), kFigure10_2Wld);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  EXPECT_EQ(entries, 2u);  // keep.wld and blocked.wld: no temporary file left behind
}

// A child saves two different definitions in turn as fast as it can and is
// killed at a random moment: the file must always load as one of the two.
TEST(WldFile, SaveIsAtomicUnderSigkill) {
  ScratchDir dir;
  const auto path = dir.path() / "crash.wld";
  const WorkloadDefinition first = figure_10_2();
  WorkloadDefinition second = first;
  for (int i = 0; i < 200; ++i)
    second.organizations.push_back({"Org" + std::to_string(i), {"D"}});
  ASSERT_TRUE(save_wld_file(path, first));
  for (int round = 0; round < 8; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (unsigned n = 0;; ++n) {
        if (!save_wld_file(path, n % 2 == 0 ? second : first)) ::_exit(3);
      }
    }
    ::usleep(static_cast<useconds_t>(2000 + round * 3000));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saver failed on its own";
    auto loaded = load_wld_file(path);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    EXPECT_TRUE(*loaded == first || *loaded == second);
  }
}

}  // namespace
}  // namespace shype::ezpolicy
