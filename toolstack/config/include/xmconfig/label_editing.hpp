// The text edits behind `xm addlabel/rmlabel/getlabel <label> dom <file>`
// (reference xen-acm-tools.md 1.3 steps 2, 5, 6; 1.4 dom; 1.5 dom). They
// work on the file's text, line by line, the way xm did, so that comments
// and layout survive; the caller reads and writes the file (the write with
// acm::write_file_atomic) and prints the messages.
//
// Two line rules, kept from xm on purpose:
//  * "labeled" (is_labeled, addlabel's check): a line that is optional
//    whitespace, `access_control`, optional whitespace, `=` (any case);
//  * the label entry (comment_out_label, get_label): from a line that
//    *starts* with `access_control` optional-whitespace `=` (any case) up to
//    and including the first line containing `']`.
// rmlabel comments the entry out instead of deleting it (users of the manual
// expect the record), and a commented-out entry no longer counts as a label,
// so `xm addlabel` after `xm rmlabel` labels the file again (reference 10,
// quirk 9; kept: that is the relabeling workflow, and the old label stays
// visible as a comment).
#pragma once

#include <string>
#include <string_view>

#include "acm/error.hpp"

namespace shype::xmconfig {

// addlabel's sanity check: the file must evaluate and define at least 3 of
// kernel, bootloader, memory and name. An evaluation error is returned as is
// (`file:line: reason`, more useful than Xen's bare message); too few keys
// is Errc::invalid_argument "Invalid config file" located at the file.
[[nodiscard]] acm::Status check_config_sanity(std::string_view text, std::string file_name);

[[nodiscard]] bool is_labeled(std::string_view text);

// `text` with `access_control = ['policy=<policy>,label=<label>']` and a
// newline appended. Unlike Xen, a newline is first added when `text` does
// not end with one, so the label never joins the last line.
// Errors (Errc::invalid_argument): the text is already labeled ("Config file
// is already labeled."), or policy/label is empty, has surrounding
// whitespace, or contains a character that cannot be written into the entry
// (quote, backslash, ',', '=', a control character).
[[nodiscard]] acm::Result<std::string> add_label_line(std::string_view text,
                                                      std::string_view policy,
                                                      std::string_view label);

// `text` with every line of the label entry prefixed by '#'. Error
// (Errc::not_found) "Domain not labeled" when no line starts an entry.
[[nodiscard]] acm::Result<std::string> comment_out_label(std::string_view text);

// getlabel's output, e.g. "policytype=ACM,policy=mytest,label=A-Bank":
// "policytype=ACM," followed by the entry's right-hand side, trimmed, with
// leading '[' / '\'' and trailing '\'' / ']' characters stripped. Error
// (Errc::not_found) "Domain not labeled".
[[nodiscard]] acm::Result<std::string> get_label(std::string_view text);

}  // namespace shype::xmconfig
