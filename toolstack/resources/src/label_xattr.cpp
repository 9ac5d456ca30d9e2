#include "label_xattr.hpp"

#include <cerrno>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "resources/label_store.hpp"
#include "store_format.hpp"

namespace shype::resources::detail {
namespace {

// Far more than {"id": 32 digits, "label": policy and label names}; a larger
// value is not ours.
constexpr std::size_t kMaxXattrSize = 4096;

}  // namespace

std::string encode_xattr(const XattrLabel& value) {
  nlohmann::ordered_json doc;
  doc["id"] = value.id;
  doc["label"] = value.label;
  // The label was checked when it was stored; replace rather than throw on
  // a byte JSON cannot carry (the attribute is only a mirror).
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<XattrLabel> decode_xattr(std::string_view bytes) {
  const auto doc = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.size() != 2) return std::nullopt;
  const auto id = doc.find("id");
  const auto label = doc.find("label");
  if (id == doc.end() || label == doc.end() || !id->is_string() || !label->is_string()) {
    return std::nullopt;
  }
  XattrLabel out{id->get<std::string>(), label->get<std::string>()};
  if (!is_valid_id(out.id)) return std::nullopt;
  return out;
}

std::optional<OpenFile> open_regular_file(const RootFs& root, const std::string& path) {
  auto probe = root.open_in_root(path, O_PATH | O_NOFOLLOW);
  if (!probe) return std::nullopt;
  struct stat st {};
  if (::fstat(probe->get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  auto fd = root.open_in_root(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (!fd) return std::nullopt;
  struct stat again {};
  if (::fstat(fd->get(), &again) != 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
    return std::nullopt;  // replaced between the two opens
  }
  return OpenFile{std::move(*fd), st.st_dev, st.st_ino};
}

std::optional<XattrLabel> read_label_xattr(const OpenFile& file) {
  std::string buf(kMaxXattrSize, '\0');
  const ssize_t n = ::fgetxattr(file.fd.get(), kLabelXattr, buf.data(), buf.size());
  if (n < 0) return std::nullopt;  // ENODATA, ENOTSUP, ERANGE (too large: not ours)
  buf.resize(static_cast<std::size_t>(n));
  return decode_xattr(buf);
}

int write_label_xattr(const OpenFile& file, const XattrLabel& value) {
  const std::string bytes = encode_xattr(value);
  if (::fsetxattr(file.fd.get(), kLabelXattr, bytes.data(), bytes.size(), 0) != 0) return errno;
  return 0;
}

int remove_label_xattr(const OpenFile& file) {
  if (::fremovexattr(file.fd.get(), kLabelXattr) != 0 && errno != ENODATA) return errno;
  return 0;
}

}  // namespace shype::resources::detail
