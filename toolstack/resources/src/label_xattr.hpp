// The one adapter for the label's extended attribute (label_store.hpp rules
// 1-5; docs/resource-labels.md): "user.shype.label" on a file: or tap:
// resource's file holds {"id": "<32 hex>", "label": "ACM:mytest:A-Bank"}.
// Every function works on an open regular file and reports errno values; the
// store decides which failures matter (almost none: the attribute only
// mirrors the store).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "resources/root_fs.hpp"
#include "resources/unique_fd.hpp"

namespace shype::resources::detail {

struct XattrLabel {
  std::string id;
  std::string label;  // as written; the store's own label always wins
  friend bool operator==(const XattrLabel&, const XattrLabel&) = default;
};

[[nodiscard]] std::string encode_xattr(const XattrLabel& value);
// nullopt for anything that is not our encoding (a foreign or damaged value).
[[nodiscard]] std::optional<XattrLabel> decode_xattr(std::string_view bytes);

// A regular file opened for its attributes, with its identity.
struct OpenFile {
  UniqueFd fd;  // O_RDONLY
  dev_t dev = 0;
  ino_t ino = 0;
  [[nodiscard]] bool same_file(const OpenFile& other) const noexcept {
    return dev == other.dev && ino == other.ino;
  }
};

// The regular file at `path` in the root (a final symlink is not followed:
// canonical names have none), or nullopt if there is none. Checked with
// O_PATH before it is opened for reading, so a device node or FIFO is never
// opened.
[[nodiscard]] std::optional<OpenFile> open_regular_file(const RootFs& root,
                                                        const std::string& path);

// The attribute, or nullopt if absent, unsupported, unreadable or not ours.
[[nodiscard]] std::optional<XattrLabel> read_label_xattr(const OpenFile& file);
// 0 or an errno (ENOTSUP where the file system refuses).
[[nodiscard]] int write_label_xattr(const OpenFile& file, const XattrLabel& value);
// 0 (also when there was none) or an errno.
[[nodiscard]] int remove_label_xattr(const OpenFile& file);

}  // namespace shype::resources::detail
