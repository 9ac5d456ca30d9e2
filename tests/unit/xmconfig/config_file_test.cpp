// The configuration language (toolstack/config/src/config_file.cpp, lexer,
// python_format): what it accepts, what it computes, and the located error
// for everything else.
#include "xmconfig/config_file.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shype::xmconfig {
namespace {

Result<ConfigFile> parse(const std::string& text, std::vector<Override> overrides = {}) {
  return parse_config(text, "domain1.xm", overrides);
}

// The value of `name` after evaluating `text`.
Value value_of(const std::string& text, const std::string& name = "x",
               std::vector<Override> overrides = {}) {
  auto file = parse(text, std::move(overrides));
  EXPECT_TRUE(file) << text << "\n" << (file ? "" : file.error().to_string());
  if (!file) return Value::string("<error>");
  const Variable* v = file->find(name);
  EXPECT_NE(v, nullptr) << name << " in " << text;
  return v ? v->value : Value::string("<missing>");
}

std::string string_of(const std::string& text) {
  Value v = value_of(text);
  EXPECT_TRUE(v.is_string()) << text << " gives " << v.repr();
  return v.is_string() ? v.as_string() : "";
}

std::int64_t int_of(const std::string& text) {
  Value v = value_of(text);
  EXPECT_TRUE(v.is_integer()) << text << " gives " << v.repr();
  return v.is_integer() ? v.as_integer() : -1;
}

// `file:line: reason` of a rejected text.
std::string error_of(const std::string& text, std::vector<Override> overrides = {}) {
  auto file = parse(text, std::move(overrides));
  EXPECT_FALSE(file) << text;
  if (file) return "";
  EXPECT_EQ(file.error().code, acm::Errc::invalid_argument);
  return file.error().to_string();
}

Value list(std::vector<Value> items) {
  return Value::list(std::move(items));
}
Value str(const char* s) {
  return Value::string(s);
}
Value num(std::int64_t n) {
  return Value::integer(n);
}

// ---- the manual's files --------------------------------------------------------

TEST(ConfigFile, ManualDomain1) {
  auto file = parse(
      "kernel= \"/boot/vmlinuz-2.6.18.8-xen\"\n"
      "memory = 128\n"
      "name = \"domain1\"\n"
      "disk = ['file:/home/xen/dom_fc5/fedora.fc5.img,sda1,w', "
      "'file:/home/xen/dom_fc5/fedora.fc5.swap,sda2,w']\n");
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_EQ(file->variables.size(), 4u);
  EXPECT_EQ(file->file_name, "domain1.xm");
  EXPECT_EQ(file->variables[0].name, "kernel");
  EXPECT_EQ(file->variables[0].value, str("/boot/vmlinuz-2.6.18.8-xen"));
  EXPECT_EQ(file->variables[0].where.to_string(), "domain1.xm:1");
  EXPECT_EQ(file->variables[0].where.column, 1u);
  EXPECT_FALSE(file->variables[0].from_command_line);
  EXPECT_EQ(file->find("memory")->value, num(128));
  EXPECT_EQ(file->find("memory")->where.line, 2u);
  EXPECT_EQ(file->find("disk")->value,
            list({str("file:/home/xen/dom_fc5/fedora.fc5.img,sda1,w"),
                  str("file:/home/xen/dom_fc5/fedora.fc5.swap,sda2,w")}));
  EXPECT_EQ(file->find("missing"), nullptr);
}

TEST(ConfigFile, Xmexample2TemplateWithVmid) {
  const std::string text =
      "# -*- mode: python; -*-\n"
      "kernel = \"/boot/vmlinuz-2.6-xenU\"\n"
      "memory = 64\n"
      "name = \"VM%d\" % vmid\n"
      "vif = [ 'mac=00:16:3e:00:00:1%d, bridge=xenbr0' % vmid ]\n"
      "disk = [ 'phy:hda%d,sda1,w' % (7+vmid),\n"
      "         'phy:hda6,sda6,r' ]\n"
      "root = \"/dev/sda1 ro\"\n"
      "extra = \"4 VMID=%d usr=/dev/sda6\" % vmid\n";
  const std::vector<Override> overrides = {{"vmid", "1"}};
  auto file = parse(text, overrides);
  ASSERT_TRUE(file) << file.error().to_string();
  EXPECT_EQ(file->find("name")->value, str("VM1"));
  EXPECT_EQ(file->find("vif")->value, list({str("mac=00:16:3e:00:00:11, bridge=xenbr0")}));
  EXPECT_EQ(file->find("disk")->value, list({str("phy:hda8,sda1,w"), str("phy:hda6,sda6,r")}));
  EXPECT_EQ(file->find("extra")->value, str("4 VMID=1 usr=/dev/sda6"));
  const Variable* vmid = file->find("vmid");
  ASSERT_NE(vmid, nullptr);
  EXPECT_TRUE(vmid->from_command_line);
  EXPECT_EQ(vmid->value, num(1));
  EXPECT_EQ(vmid->where.to_string(), "<command line>");
  EXPECT_EQ(vmid->as_typed, "1");

  EXPECT_EQ(
      error_of(text),
      "domain1.xm:4: name 'vmid' is not defined (define it earlier in the file or on the command line as vmid=value)");
}

TEST(ConfigFile, ManualSection321DiskExample) {
  // Manual 3.2.1's disk example, with the placeholders filled in.
  EXPECT_EQ(value_of("base_partition_number = 2\nvmid = 3\n"
                     "x = ['phy:your_hard_drive%d,sda1,w' % (base_partition_number + vmid), "
                     "'phy:your_usr_partition,sda6,r' ]\n"),
            list({str("phy:your_hard_drive5,sda1,w"), str("phy:your_usr_partition,sda6,r")}));
}

// ---- overrides (manual 4.2) --------------------------------------------------------

TEST(ConfigFile, OverridesWinOverTheFile) {
  auto file =
      parse("memory = 128\nname = 'a'\nm2 = memory * 2\n", {{"memory", "512"}, {"name", "b"}});
  ASSERT_TRUE(file) << file.error().to_string();
  EXPECT_EQ(file->find("memory")->value, num(512));
  EXPECT_TRUE(file->find("memory")->from_command_line);
  EXPECT_EQ(file->find("name")->value, str("b"));
  EXPECT_EQ(file->find("m2")->value, num(1024));      // the override is what the file sees
  EXPECT_EQ(file->variables.front().name, "memory");  // first defined on the command line
}

TEST(ConfigFile, OverrideValuesAreIntsWhenTheyLookLikeInts) {
  EXPECT_EQ(value_of("", "v", {{"v", "42"}}), num(42));
  EXPECT_EQ(value_of("", "v", {{"v", "-7"}}), num(-7));
  EXPECT_EQ(value_of("", "v", {{"v", "+7"}}), num(7));
  EXPECT_EQ(value_of("", "v", {{"v", "0x10"}}), str("0x10"));
  EXPECT_EQ(value_of("", "v", {{"v", "12a"}}), str("12a"));
  EXPECT_EQ(value_of("", "v", {{"v", ""}}), str(""));
  EXPECT_EQ(value_of("", "v", {{"v", "99999999999999999999"}}), str("99999999999999999999"));
  EXPECT_EQ(value_of("", "v", {{"v", "1"}, {"v", "2"}}), num(2));  // the last one counts
}

TEST(ConfigFile, AssignmentsToOverriddenNamesAreStillChecked) {
  EXPECT_EQ(error_of("memory = 1 + 'a'\n", {{"memory", "512"}}),
            "domain1.xm:1: unsupported operand type(s) for +: 'int' and 'str'");
}

TEST(ConfigFile, BadOverrides) {
  EXPECT_EQ(error_of("", {{"1x", "3"}}), "<command line>: invalid variable name '1x' in '1x=3'");
  EXPECT_EQ(error_of("", {{"import", "3"}}),
            "<command line>: invalid variable name 'import' in 'import=3'");
  EXPECT_EQ(error_of("", {{"v", std::string("a\0b", 3)}}),
            "<command line>: value of v is not UTF-8 text (or contains a NUL)");
  EXPECT_EQ(error_of("", {{"v", "\xff"}}),
            "<command line>: value of v is not UTF-8 text (or contains a NUL)");
}

TEST(ConfigFile, ParseOverride) {
  auto o = parse_override("vmid=1");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->name, "vmid");
  EXPECT_EQ(o->value, "1");
  auto with_equals = parse_override("extra=a=b");
  ASSERT_TRUE(with_equals);
  EXPECT_EQ(with_equals->value, "a=b");
  EXPECT_EQ(parse_override("vmid").error().to_string(),
            "<command line>: expected a declaration 'variable=value', found 'vmid'");
  EXPECT_EQ(parse_override("a-b=1").error().to_string(),
            "<command line>: invalid variable name 'a-b' in 'a-b=1'");
}

// ---- literals --------------------------------------------------------------------

TEST(ConfigFile, Integers) {
  EXPECT_EQ(int_of("x = 0"), 0);
  EXPECT_EQ(int_of("x = 00"), 0);
  EXPECT_EQ(int_of("x = 65536"), 65536);
  EXPECT_EQ(int_of("x = 0x1F"), 31);
  EXPECT_EQ(int_of("x = 0o17"), 15);
  EXPECT_EQ(int_of("x = 0b101"), 5);
  EXPECT_EQ(int_of("x = -5"), -5);
  EXPECT_EQ(int_of("x = --5"), 5);
  EXPECT_EQ(int_of("x = +5"), 5);
  EXPECT_EQ(int_of("x = 9223372036854775807"), INT64_MAX);
  EXPECT_EQ(int_of("x = True"), 1);
  EXPECT_EQ(int_of("x = False + 2"), 2);
}

TEST(ConfigFile, IntegerLiteralErrors) {
  EXPECT_EQ(
      error_of("x = 010\n"),
      "domain1.xm:1: integer literal '010' has a leading zero (Python 2 read it as octal); write it in decimal, or with 0o for octal");
  EXPECT_EQ(
      error_of("x = 1.5\n"),
      "domain1.xm:1: floating-point numbers are not supported in configuration files (only integers)");
  EXPECT_EQ(
      error_of("x = .5\n"),
      "domain1.xm:1: floating-point numbers are not supported in configuration files (only integers)");
  EXPECT_EQ(
      error_of("x = 1e3\n"),
      "domain1.xm:1: floating-point and complex numbers are not supported in configuration files (only integers)");
  EXPECT_EQ(
      error_of("x = 128L\n"),
      "domain1.xm:1: Python 2 long literals such as '128L' are not supported; write the number without the 'L'");
  EXPECT_EQ(error_of("x = 12ab\n"), "domain1.xm:1: invalid integer literal '12ab'");
  EXPECT_EQ(error_of("x = 0x\n"), "domain1.xm:1: invalid integer literal '0x'");
  EXPECT_EQ(error_of("x = 0x1g\n"), "domain1.xm:1: invalid integer literal '0x1g'");
  EXPECT_EQ(
      error_of("x = 9223372036854775808\n"),
      "domain1.xm:1: integer literal '9223372036854775808' is too large (the limit is 9223372036854775807)");
  EXPECT_EQ(
      error_of("x = 99999999999999999999999\n"),
      "domain1.xm:1: integer literal '99999999999999999999999' is too large (the limit is 9223372036854775807)");
}

TEST(ConfigFile, Strings) {
  EXPECT_EQ(string_of("x = 'single'"), "single");
  EXPECT_EQ(string_of("x = \"double\""), "double");
  EXPECT_EQ(string_of("x = 'it\\'s'"), "it's");
  EXPECT_EQ(string_of("x = \"say \\\"hi\\\"\""), "say \"hi\"");
  EXPECT_EQ(string_of("x = 'a\\tb\\nc\\\\d'"), "a\tb\nc\\d");
  EXPECT_EQ(string_of("x = '\\x41\\101\\a\\b\\f\\v\\r'"), "AA\a\b\f\v\r");
  EXPECT_EQ(string_of("x = '\\d\\u00e9'"), "\\d\\u00e9");  // unknown escapes stay
  EXPECT_EQ(string_of("x = 'a\\\nb'"), "ab");              // escaped newline
  EXPECT_EQ(string_of("x = r'a\\nb\\''"), "a\\nb\\'");     // raw
  EXPECT_EQ(string_of("x = u'caf\xc3\xa9'"), "caf\xc3\xa9");
  EXPECT_EQ(string_of("x = UR'\\n'"), "\\n");
  EXPECT_EQ(string_of("x = 'a' \"b\" 'c'"), "abc");  // adjacent literals join
  EXPECT_EQ(string_of("x = '''one\ntwo 'quoted' \"\"\"'''"), "one\ntwo 'quoted' \"\"\"");
  EXPECT_EQ(string_of("x = \"\"\"a\r\nb\"\"\""), "a\nb");
  EXPECT_EQ(string_of("x = ''"), "");
  EXPECT_EQ(string_of("x = '#not a comment'"), "#not a comment");
}

TEST(ConfigFile, StringErrors) {
  EXPECT_EQ(error_of("a = 1\nx = 'open\n"), "domain1.xm:2: unterminated string literal");
  EXPECT_EQ(error_of("x = 'open"), "domain1.xm:1: unterminated string literal");
  EXPECT_EQ(error_of("x = '''open\n\n"), "domain1.xm:1: unterminated triple-quoted string literal");
  EXPECT_EQ(error_of("x = '\\x4'"), "domain1.xm:1: invalid \\x escape (it needs two hex digits)");
  EXPECT_EQ(error_of("x = '\\x00'"),
            "domain1.xm:1: NUL characters are not allowed in configuration strings");
  EXPECT_EQ(error_of("x = 'a\\0'"),
            "domain1.xm:1: NUL characters are not allowed in configuration strings");
  EXPECT_EQ(
      error_of("x = '\\xff'"),
      "domain1.xm:1: escapes above \\x7f are not supported (write the character itself; files are UTF-8)");
  EXPECT_EQ(
      error_of("x = b'bytes'"),
      "domain1.xm:1: string prefix 'b' is not supported in configuration files (bytes and f-strings are not part of the language; use plain or r'' strings)");
  EXPECT_EQ(
      error_of("x = f'{y}'"),
      "domain1.xm:1: string prefix 'f' is not supported in configuration files (bytes and f-strings are not part of the language; use plain or r'' strings)");
}

TEST(ConfigFile, ListsAndTuples) {
  EXPECT_EQ(value_of("x = []"), list({}));
  EXPECT_EQ(value_of("x = [1, 'a', [2]]"), list({num(1), str("a"), list({num(2)})}));
  EXPECT_EQ(value_of("x = [\n  'a',   # first\n\n  'b',\n]\n"), list({str("a"), str("b")}));
  EXPECT_EQ(value_of("x = ('a', 'b')"), Value::tuple({str("a"), str("b")}));
  EXPECT_EQ(value_of("x = ('a',)"), Value::tuple({str("a")}));
  EXPECT_EQ(value_of("x = ()"), Value::tuple({}));
  EXPECT_EQ(value_of("x = ('a')"), str("a"));
  EXPECT_EQ(value_of("x = 'a', 'b'"), Value::tuple({str("a"), str("b")}));
  EXPECT_EQ(value_of("x = 1,"), Value::tuple({num(1)}));
}

TEST(ConfigFile, LinesCommentsAndSeparators) {
  auto file = parse(
      "\xEF\xBB\xBF# a comment\r\n"
      "a = 1; b = 2;\r\n"
      "\n"
      "   # an indented comment is fine\n"
      "c = a + \\\n"
      "    b\n"
      "'''a docstring'''\n"
      "d = [1,\n"
      "2]  # trailing comment");
  ASSERT_TRUE(file) << file.error().to_string();
  EXPECT_EQ(file->find("a")->value, num(1));
  EXPECT_EQ(file->find("b")->value, num(2));
  EXPECT_EQ(file->find("b")->where.line, 2u);
  EXPECT_EQ(file->find("c")->value, num(3));
  EXPECT_EQ(file->find("c")->where.line, 5u);
  EXPECT_EQ(file->find("d")->value, list({num(1), num(2)}));
  EXPECT_EQ(file->find("d")->where.line, 8u);
  EXPECT_EQ(file->variables.size(), 4u);
}

TEST(ConfigFile, ReassignmentKeepsOrderAndMovesTheLocation) {
  auto file = parse("disk = ['a']\nname = 'n'\ndisk = disk + ['b']\ndisk += ['c']\n");
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_EQ(file->variables.size(), 2u);
  EXPECT_EQ(file->variables[0].name, "disk");
  EXPECT_EQ(file->variables[0].value, list({str("a"), str("b"), str("c")}));
  EXPECT_EQ(file->variables[0].where.line, 4u);
}

// ---- operators -----------------------------------------------------------------

TEST(ConfigFile, Arithmetic) {
  EXPECT_EQ(int_of("x = 1 + 2 * 3"), 7);
  EXPECT_EQ(int_of("x = (1 + 2) * 3"), 9);
  EXPECT_EQ(int_of("x = 10 - 2 - 3"), 5);
  EXPECT_EQ(int_of("x = -2 * -3"), 6);
  EXPECT_EQ(int_of("x = 7 % 3"), 1);
  EXPECT_EQ(int_of("x = -7 % 3"), 2);  // Python's modulo follows the divisor
  EXPECT_EQ(int_of("x = 7 % -3"), -2);
  EXPECT_EQ(int_of("x = -9223372036854775807 - 1"), INT64_MIN);
  EXPECT_EQ(int_of("x = (-9223372036854775807 - 1) % -1"), 0);
  EXPECT_EQ(int_of("a = 5\na -= 2\na *= 3\na %= 4\nx = a"), 1);
}

TEST(ConfigFile, SequenceOperators) {
  EXPECT_EQ(string_of("x = 'ab' + 'cd'"), "abcd");
  EXPECT_EQ(string_of("x = 'ab' * 3"), "ababab");
  EXPECT_EQ(string_of("x = 2 * 'ab'"), "abab");
  EXPECT_EQ(string_of("x = 'ab' * -1"), "");
  EXPECT_EQ(value_of("x = [''] * 2"), list({str(""), str("")}));
  EXPECT_EQ(value_of("x = [1] + [2]"), list({num(1), num(2)}));
  EXPECT_EQ(value_of("x = (1,) + (2,)"), Value::tuple({num(1), num(2)}));
  EXPECT_EQ(value_of("x = [1] * 0"), list({}));
}

TEST(ConfigFile, OperatorErrors) {
  EXPECT_EQ(error_of("x = 'a' + 1\n"),
            "domain1.xm:1: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(error_of("x = [1] + (2,)\n"),
            "domain1.xm:1: unsupported operand type(s) for +: 'list' and 'tuple'");
  EXPECT_EQ(error_of("x = 'a' - 'b'\n"),
            "domain1.xm:1: unsupported operand type(s) for -: 'str' and 'str'");
  EXPECT_EQ(error_of("x = 'a' * 'b'\n"),
            "domain1.xm:1: unsupported operand type(s) for *: 'str' and 'str'");
  EXPECT_EQ(error_of("x = [1] % 2\n"),
            "domain1.xm:1: unsupported operand type(s) for %: 'list' and 'int'");
  EXPECT_EQ(error_of("x = -'a'\n"), "domain1.xm:1: bad operand type for unary -: 'str'");
  EXPECT_EQ(error_of("x = 1 % 0\n"), "domain1.xm:1: integer modulo by zero");
  EXPECT_EQ(error_of("x = 9223372036854775807 + 1\n"),
            "domain1.xm:1: integer result out of range (integers are 64-bit)");
  EXPECT_EQ(error_of("x = 4611686018427387904 * 2\n"),
            "domain1.xm:1: integer result out of range (integers are 64-bit)");
  EXPECT_EQ(error_of("x = -(-9223372036854775807 - 1)\n"),
            "domain1.xm:1: integer result out of range (integers are 64-bit)");
  EXPECT_EQ(error_of("x += 1\n"), "domain1.xm:1: name 'x' is not defined");
}

// ---- % formatting ----------------------------------------------------------------

TEST(ConfigFile, PercentFormatting) {
  EXPECT_EQ(string_of("vmid = 3\nx = '%d' % vmid"), "3");
  EXPECT_EQ(string_of("vmid = 3\nx = 'phy:hda%d,sda1,w' % (7+vmid)"), "phy:hda10,sda1,w");
  EXPECT_EQ(string_of("x = '%s-%s' % ('a', 1)"), "a-1");
  EXPECT_EQ(string_of("x = '%02d' % 5"), "05");
  EXPECT_EQ(string_of("x = '%x %X %o' % (255, 255, 8)"), "ff FF 10");
  EXPECT_EQ(string_of("x = '%#x %#o %#X' % (255, 8, 255)"), "0xff 0o10 0XFF");
  EXPECT_EQ(string_of("x = '%5d|%-5d|%05d' % (42, 42, -42)"), "   42|42   |-0042");
  EXPECT_EQ(string_of("x = '%+d % d %i %u' % (5, 5, 6, 7)"), "+5  5 6 7");
  EXPECT_EQ(string_of("x = '%.3d' % 5"), "005");
  EXPECT_EQ(string_of("x = '%05.3d' % 5"), "00005");
  EXPECT_EQ(string_of("x = '%#05x' % 255"), "0x0ff");
  EXPECT_EQ(string_of("x = '%x' % -255"), "-ff");
  EXPECT_EQ(string_of("x = '%d' % (-9223372036854775807 - 1)"), "-9223372036854775808");
  EXPECT_EQ(string_of("x = '%6s|%-6s|%.2s' % ('ab', 'ab', 'xyz')"), "    ab|ab    |xy");
  EXPECT_EQ(string_of("x = '%3s' % 'caf\xc3\xa9'"), "caf\xc3\xa9");  // width counts characters
  EXPECT_EQ(string_of("x = '%.3s' % 'caf\xc3\xa9'"), "caf");
  EXPECT_EQ(string_of("x = '%s' % [1, 'a']"), "[1, 'a']");
  EXPECT_EQ(string_of("x = '%s' % ((1,),)"), "(1,)");
  EXPECT_EQ(string_of("x = '%r %r' % ('it\\'s', 'a\\n')"), "\"it's\" 'a\\n'");
  EXPECT_EQ(string_of("x = '%c%c' % (65, 'b')"), "Ab");
  EXPECT_EQ(string_of("x = '%c' % 233"), "\xc3\xa9");
  EXPECT_EQ(string_of("x = '100%%'  % ()"), "100%");
  EXPECT_EQ(string_of("x = '%ld' % 5"), "5");
  EXPECT_EQ(string_of("x = 'no args' % ()"), "no args");
}

TEST(ConfigFile, PercentFormattingErrors) {
  EXPECT_EQ(error_of("x = '%d %d' % 1\n"), "domain1.xm:1: not enough arguments for format string");
  EXPECT_EQ(error_of("x = '%d' % (1, 2)\n"),
            "domain1.xm:1: not all arguments converted during string formatting");
  EXPECT_EQ(error_of("x = 'abc' % 5\n"),
            "domain1.xm:1: not all arguments converted during string formatting");
  EXPECT_EQ(error_of("x = '%d' % 'a'\n"), "domain1.xm:1: %d format: a number is required, not str");
  EXPECT_EQ(error_of("x = '%x' % 'a'\n"),
            "domain1.xm:1: %x format: an integer is required, not str");
  EXPECT_EQ(
      error_of("x = '%f' % 1\n"),
      "domain1.xm:1: floating-point format '%f' is not supported (the language has no floats)");
  EXPECT_EQ(error_of("x = '%q' % 1\n"),
            "domain1.xm:1: unsupported format character 'q' (0x71) at index 1");
  EXPECT_EQ(error_of("x = '%5%' % ()\n"),
            "domain1.xm:1: unsupported format character '%' (0x25) at index 2");
  EXPECT_EQ(error_of("x = 'abc%' % ()\n"), "domain1.xm:1: incomplete format");
  EXPECT_EQ(
      error_of("x = '%(a)s' % ()\n"),
      "domain1.xm:1: format mapping keys such as '%(name)s' are not supported (they need a dictionary)");
  EXPECT_EQ(error_of("x = '%*d' % (1, 2)\n"),
            "domain1.xm:1: '*' width in format strings is not supported");
  EXPECT_EQ(error_of("x = '%99999d' % 1\n"),
            "domain1.xm:1: format width larger than the limit of 4096");
  EXPECT_EQ(error_of("x = '%.99999d' % 1\n"),
            "domain1.xm:1: format precision larger than the limit of 4096");
  EXPECT_EQ(error_of("x = '%c' % 0\n"),
            "domain1.xm:1: %c arg not in range (1..0x10ffff, no surrogates or NUL)");
  EXPECT_EQ(error_of("x = '%c' % 'ab'\n"),
            "domain1.xm:1: %c requires an int or a single character");
  EXPECT_EQ(error_of("x = 5 % 'a'\n"),
            "domain1.xm:1: unsupported operand type(s) for %: 'int' and 'str'");
}

// ---- what is not supported: one located error each ----------------------------

TEST(ConfigFile, PythonStatementsAreRefused) {
  const std::string suffix =
      " is not supported in configuration files (only assignments of strings, numbers and lists)";
  const std::string prelude = "kernel = 'k'\nmemory = 128\nname = 'n'\n";
  for (const char* keyword :
       {"import", "from", "def", "class", "if", "for", "while", "try", "with", "del", "print",
        "exec", "global", "lambda", "return", "raise", "assert", "pass"}) {
    EXPECT_EQ(error_of(prelude + keyword + " os\n"),
              "domain1.xm:4: '" + std::string(keyword) + "'" + suffix);
  }
  EXPECT_EQ(
      error_of("kernel= '/boot/k'\nmemory = 128\nname = 'domain1'\nimport os\n"),
      "domain1.xm:4: 'import' is not supported in configuration files (only assignments of strings, numbers and lists)");
}

TEST(ConfigFile, PythonExpressionsAreRefused) {
  const std::string only =
      " in configuration files (only assignments of strings, numbers and lists)";
  EXPECT_EQ(error_of("x = int('1')\n"),
            "domain1.xm:1: function calls ('name(...)') are not supported" + only);
  EXPECT_EQ(error_of("try:\n  vmid = int(vmid)\n"), "domain1.xm:1: 'try' is not supported" + only);
  EXPECT_EQ(error_of("x = os.path\n"),
            "domain1.xm:1: attribute access ('a.b') is not supported" + only);
  EXPECT_EQ(error_of("x = 'a'.upper()\n"),
            "domain1.xm:1: attribute access ('a.b') is not supported" + only);
  EXPECT_EQ(error_of("y = [1]\nx = y[0]\n"),
            "domain1.xm:2: indexing and slicing ('a[...]') is not supported" + only);
  EXPECT_EQ(error_of("x = lambda: 1\n"), "domain1.xm:1: 'lambda' is not supported" + only);
  EXPECT_EQ(error_of("x = 1 if 1 else 2\n"), "domain1.xm:1: 'if' is not supported" + only);
  EXPECT_EQ(error_of("x = [a for a in []]\n"), "domain1.xm:1: 'for' is not supported" + only);
  EXPECT_EQ(error_of("x = not 1\n"), "domain1.xm:1: 'not' is not supported" + only);
  EXPECT_EQ(error_of("x = 1 and 2\n"), "domain1.xm:1: 'and' is not supported" + only);
  EXPECT_EQ(error_of("x = None\n"), "domain1.xm:1: 'None' is not supported" + only);
  EXPECT_EQ(error_of("x = {'a': 1}\n"),
            "domain1.xm:1: dictionaries and sets ('{...}') are not supported" + only);
  EXPECT_EQ(error_of("x = `1`\n"),
            "domain1.xm:1: Python 2's backquotes ('`x`') are not supported" + only);
  EXPECT_EQ(error_of("f(1)\n"),
            "domain1.xm:1: function calls ('name(...)') are not supported" + only);
  EXPECT_EQ(error_of("a.b = 1\n"),
            "domain1.xm:1: attribute access ('a.b') is not supported" + only);
  EXPECT_EQ(error_of("a, b = 1, 2\n"),
            "domain1.xm:1: assigning several names at once ('a, b = ...') is not supported" + only);
  EXPECT_EQ(
      error_of("x = y = 1\n"),
      "domain1.xm:1: chained assignments ('a = b = value') are not supported in configuration files");
  EXPECT_EQ(error_of("True = 1\n"), "domain1.xm:1: cannot assign to True");
  EXPECT_EQ(
      error_of("  x = 1\n"),
      "domain1.xm:1: unexpected indentation (statements start in the first column; Python blocks are not supported)");
  EXPECT_EQ(error_of("x = [1][0]\n"),
            "domain1.xm:1: indexing and slicing ('a[...]') is not supported" + only);
}

TEST(ConfigFile, UnsupportedOperators) {
  const std::string ops =
      " is not supported in configuration files (only + - * % on integers, + and * on strings and lists, and % formatting)";
  EXPECT_EQ(error_of("x = 4 / 2\n"), "domain1.xm:1: operator '/'" + ops);
  EXPECT_EQ(error_of("x = 4 // 2\n"), "domain1.xm:1: operator '//'" + ops);
  EXPECT_EQ(error_of("x = 2 ** 3\n"), "domain1.xm:1: operator '**'" + ops);
  EXPECT_EQ(error_of("x = 1 == 1\n"), "domain1.xm:1: operator '=='" + ops);
  EXPECT_EQ(error_of("x = 1 < 2\n"), "domain1.xm:1: operator '<'" + ops);
  EXPECT_EQ(error_of("x = 1 | 2\n"), "domain1.xm:1: operator '|'" + ops);
  EXPECT_EQ(error_of("x = ~1\n"), "domain1.xm:1: operator '~'" + ops);
  EXPECT_EQ(error_of("x = 1\nx /= 2\n"), "domain1.xm:2: operator '/='" + ops);
  EXPECT_EQ(error_of("x = 1 <> 2\n"), "domain1.xm:1: operator '<>'" + ops);
}

TEST(ConfigFile, SyntaxErrors) {
  EXPECT_EQ(error_of("x = [1, 2\n"), "domain1.xm:1: '[' was never closed");
  EXPECT_EQ(error_of("x = (1\n\n"), "domain1.xm:1: '(' was never closed");
  EXPECT_EQ(error_of("x = 1]\n"), "domain1.xm:1: unmatched ']'");
  EXPECT_EQ(error_of("x = [1)\n"),
            "domain1.xm:1: closing ')' does not match opening '[' on line 1");
  EXPECT_EQ(error_of("x = [1 2]\n"), "domain1.xm:1: expected ',' or ']', found number 2");
  EXPECT_EQ(error_of("x = \n"), "domain1.xm:1: expected a value, found end of line");
  EXPECT_EQ(error_of("x = 1 2\n"), "domain1.xm:1: expected end of line, found number 2");
  EXPECT_EQ(error_of("x\n"),
            "domain1.xm:1: a statement must be an assignment 'name = value' (found only 'x')");
  EXPECT_EQ(error_of("5 = x\n"), "domain1.xm:1: a statement must be an assignment 'name = value'");
  EXPECT_EQ(error_of("'a' + 1\n"),
            "domain1.xm:1: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(error_of("[1]\n"), "domain1.xm:1: a statement must be an assignment 'name = value'");
  EXPECT_EQ(error_of("x = $\n"), "domain1.xm:1: invalid character '$'");
  EXPECT_EQ(
      error_of("x = \xc3\xa9\n"),
      "domain1.xm:1: invalid character '\xc3\xa9' (only strings and comments may hold non-ASCII text)");
  EXPECT_EQ(error_of("x = 1 \\ 2\n"),
            "domain1.xm:1: unexpected character after line continuation character '\\'");
  EXPECT_EQ(error_of("x = 1 \\"),
            "domain1.xm:1: unexpected end of file after line continuation character '\\'");
  EXPECT_EQ(error_of("x = 1 \\\n"),
            "domain1.xm:1: unexpected end of file after line continuation character '\\'");
  EXPECT_TRUE(parse("x = 1 \\\n\n"));
  EXPECT_EQ(
      error_of("a = 1\nb = 2\nc = undefined_name\n"),
      "domain1.xm:3: name 'undefined_name' is not defined (define it earlier in the file or on the command line as undefined_name=value)");
  EXPECT_EQ(
      error_of("x = 1\n\n\n  y = 2\n"),
      "domain1.xm:4: unexpected indentation (statements start in the first column; Python blocks are not supported)");
}

TEST(ConfigFile, ErrorsCarryTheColumn) {
  auto file = parse("a = 1\nx = [1,\n     'a' + 2]\n");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().where.line, 3u);
  EXPECT_EQ(file.error().where.column, 10u);
  EXPECT_EQ(file.error().where.file, "domain1.xm");
}

TEST(ConfigFile, BadBytes) {
  EXPECT_EQ(error_of(std::string("a = 1\nx = 'a\0'\n", 15)),
            "domain1.xm:2: NUL byte in configuration file");
  EXPECT_EQ(error_of("a = 1\r\nb = 2\rx = '\xff'\n"),
            "domain1.xm:3: configuration file is not valid UTF-8");
  EXPECT_EQ(error_of("x = '\xed\xa0\x80'\n"),
            "domain1.xm:1: configuration file is not valid UTF-8");
  EXPECT_EQ(error_of("x = '\xc0\xaf'\n"), "domain1.xm:1: configuration file is not valid UTF-8");
  EXPECT_EQ(error_of("x = 1\x01\n"),
            "domain1.xm:1: invalid control character in configuration file");
}

// ---- limits -------------------------------------------------------------------------

TEST(ConfigFile, FileSizeLimit) {
  std::string text(kMaxConfigSize + 1, '#');
  EXPECT_EQ(error_of(text), "domain1.xm: configuration file larger than 1048576 bytes");
  text.resize(kMaxConfigSize);
  EXPECT_TRUE(parse(text));
}

TEST(ConfigFile, NestingLimit) {
  const std::string ok =
      "x = " + std::string(kMaxNestingDepth, '[') + std::string(kMaxNestingDepth, ']');
  EXPECT_TRUE(parse(ok));
  const std::string deep =
      "x = " + std::string(kMaxNestingDepth + 1, '[') + std::string(kMaxNestingDepth + 1, ']');
  EXPECT_EQ(error_of(deep), "domain1.xm:1: brackets nested deeper than 64 levels");
  std::string signs = "x = ";
  for (std::uint32_t i = 0; i <= kMaxNestingDepth; ++i)
    signs += "- ";
  EXPECT_EQ(error_of(signs + "1\n"), "domain1.xm:1: expression nested deeper than 64 levels");
  // Nesting built up through variables.
  std::string through_variables = "x = []\n";
  for (std::uint32_t i = 0; i < kMaxNestingDepth; ++i)
    through_variables += "x = [x]\n";
  EXPECT_EQ(error_of(through_variables), "domain1.xm:65: lists nested deeper than 64 levels");
}

TEST(ConfigFile, StringAndListLimits) {
  EXPECT_TRUE(parse("x = 'a' * 65536\n"));
  EXPECT_EQ(error_of("x = 'a' * 65537\n"), "domain1.xm:1: string longer than 65536 bytes");
  EXPECT_EQ(error_of("x = 'a' * 9223372036854775807\n"),
            "domain1.xm:1: string longer than 65536 bytes");
  EXPECT_EQ(error_of("x = 'a' * 65536\ny = x + 'b'\n"),
            "domain1.xm:2: string longer than 65536 bytes");
  EXPECT_EQ(error_of("x = 'a' * 40000\ny = '%s%s' % (x, x)\n"),
            "domain1.xm:2: formatted string longer than 65536 bytes");
  EXPECT_EQ(error_of("x = '" + std::string(kMaxStringLength + 1, 'a') + "'\n"),
            "domain1.xm:1: string literal longer than 65536 bytes");
  EXPECT_EQ(error_of("x = '" + std::string(40000, 'a') + "' '" + std::string(40000, 'a') + "'\n"),
            "domain1.xm:1: string longer than 65536 bytes");
  EXPECT_TRUE(parse("x = [0] * 4096\n"));
  EXPECT_EQ(error_of("x = [0] * 4097\n"), "domain1.xm:1: list longer than 4096 elements");
  EXPECT_EQ(error_of("x = [0] * 4096 + [1]\n"), "domain1.xm:1: list longer than 4096 elements");
  std::string literal = "x = [";
  for (std::size_t i = 0; i <= kMaxListLength; ++i)
    literal += "0,";
  EXPECT_EQ(error_of(literal + "]\n"), "domain1.xm:1: list longer than 4096 elements");
}

TEST(ConfigFile, ValueAndEvaluationBudgets) {
  // 64 strings of 64 KiB in one list: 4 MiB in one value.
  EXPECT_EQ(error_of("s = 'a' * 65536\nx = [s] * 64\n"),
            "domain1.xm:2: value larger than 1048576 bytes");
  EXPECT_EQ(error_of("s = 'a' * 65536\nx = [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]\n"),
            "domain1.xm:2: value larger than 1048576 bytes");
  // Copying a large value over and over runs out of the evaluation budget.
  std::string copies = "s = 'a' * 65536\nx = [s] * 15\n";
  for (int i = 0; i < 20; ++i)
    copies += "y = x\n";
  auto file = parse(copies);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("evaluating the file needs more than 16 MiB"),
            std::string::npos)
      << file.error().to_string();
}

TEST(ConfigFile, ValueRepr) {
  EXPECT_EQ(Value::list({num(1), str("a'b"), str("c\"d'"), Value::tuple({str("\x01")})}).repr(),
            "[1, \"a'b\", 'c\"d\\'', ('\\x01',)]");
  EXPECT_EQ(str("\xc2\x85\xc3\xa9").repr(), "'\\x85\xc3\xa9'");
  EXPECT_EQ(str("plain").str(), "plain");
  EXPECT_EQ(num(-3).str(), "-3");
  EXPECT_STREQ(kind_name(Value::Kind::tuple), "tuple");
}

}  // namespace
}  // namespace shype::xmconfig
