// Canonical resource names: Xen's unify_resname (reference xen-acm-tools.md
// 2.3), resolved inside a RootFs. One resource has one name, so that a label
// set through "file:../x.img" is found again through "file:/home/xen/x.img".
//
// Rules and messages (exactly Xen's):
//  - the spec must contain ':' ("Resource spec '<r>' contains no ':'
//    delimiter");
//  - "tap:<subtype>:<path>" needs exactly one further ':' and a subtype
//    ("Resource spec '<r>' contains no tap subtype");
//  - phy: a relative name gets "/dev/" in front ("phy:hda6" ->
//    "phy:/dev/hda6"). When the device must exist its symlinks are resolved
//    (inside the root) and it must be a block device ("Invalid resource");
//    when it need not exist the name is kept as written, so a label set on
//    "phy:/dev/mapper/vg-lv" stays on that stable name (the store finds it
//    again from the resolved "/dev/dm-3", see label_store.hpp);
//  - file: and tap: paths are resolved with RootFs::canonical_in_root;
//    relative paths are relative to cwd. When the file must exist it must be
//    a regular file ("Invalid resource");
//  - vlan:<n> needs a decimal 1 <= n <= 4095 ("VLAN ID <n> out of range.",
//    "Invalid VLAN : <s>"); the name is written back in plain decimal
//    ("vlan:012" -> "vlan:12"; Xen kept the digits as typed);
//  - every other type needs an absolute path, which must exist when
//    must_exist ("Invalid resource.") and is not otherwise resolved.
// Deliberate differences: an empty type (":/x") and an empty tap subtype
// ("tap::/x") are refused ("Invalid resource." and the tap subtype message)
// where Xen built odd names from them; Xen's code let the "out of range"
// message be swallowed by its own handler, which then printed
// "Invalid VLAN : 5000" - here the range message is what the user sees.
// Every error is invalid_argument, except io_error when the file system
// could not be read (permission, loops).
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "acm/error.hpp"
#include "resources/root_fs.hpp"

namespace shype::resources {

struct ResourceName {
  std::string type;     // "file", "phy", "tap", "vlan", or another type as written
  std::string subtype;  // tap only: "aio", "qcow", ...; empty otherwise
  std::string path;     // absolute, in the root's namespace; vlan: the decimal id

  // "file:/home/xen/x.img", "tap:aio:/x.img", "vlan:12".
  [[nodiscard]] std::string to_string() const;

  // file: and tap: name regular files, which can carry the label in an
  // extended attribute; phy:, vlan: and other types cannot.
  [[nodiscard]] bool is_file_backed() const noexcept { return type == "file" || type == "tap"; }

  // Reads a name that is already canonical (a key of the label store)
  // without touching the file system: the shape rules above, absolute paths,
  // vlan ids in plain decimal. invalid_argument naming the text otherwise.
  [[nodiscard]] static Result<ResourceName> parse_canonical(std::string_view text);

  friend auto operator<=>(const ResourceName&, const ResourceName&) = default;
  friend bool operator==(const ResourceName&, const ResourceName&) = default;
};

// Xen's unify_resname. cwd: the caller's working directory in the root's
// namespace ("" means "/"), used for relative file: and tap: paths.
// must_exist: true when a domain is about to use the resource, false when it
// is being labeled (Xen did not require existence then).
[[nodiscard]] Result<ResourceName> canonicalize(const RootFs& root, std::string_view spec,
                                                std::string_view cwd, bool must_exist);

}  // namespace shype::resources
