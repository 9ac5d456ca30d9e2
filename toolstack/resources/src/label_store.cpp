#include "resources/label_store.hpp"

#include <cerrno>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acm/file_io.hpp"
#include "label_xattr.hpp"
#include "store_format.hpp"
#include "errno_text.hpp"

namespace shype::resources {
namespace {

namespace fs = std::filesystem;
using acm::make_error;
using detail::OpenFile;
using detail::XattrLabel;

constexpr mode_t kStoreDirMode = 0700;
constexpr unsigned kStoreFileMode = 0600;

std::string store_name(const fs::path& file) {
  return "resource label store '" + file.string() + "'";
}

Status make_directories(const fs::path& dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return make_error(Errc::io_error,
                      "cannot create directory '" + dir.string() + "': " + errno_text(ENOTDIR));
  }
  const fs::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    if (auto made = make_directories(parent); !made) return made;
  }
  if (::mkdir(dir.c_str(), kStoreDirMode) != 0 && errno != EEXIST) {
    return make_error(Errc::io_error,
                      "cannot create directory '" + dir.string() + "': " + errno_text(errno));
  }
  return {};
}

// acm::write_file_atomic names its temporary "<file>.tmp.<pid>.<random>". A
// writer killed before its rename leaves one behind; with the lock held no
// writer is running, so any such file is garbage.
void remove_stale_temporaries(const fs::path& file) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string prefix = file.filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0) ::unlink(it->path().c_str());
  }
}

std::string random_id() {
  unsigned char bytes[16] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof bytes) {
    std::random_device rd;
    for (std::size_t i = got; i < sizeof bytes; ++i)
      bytes[i] = static_cast<unsigned char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0x0f];
  }
  return id;
}

// Brings a file's attribute in line with its store entry. Best effort
// (label_store.hpp rule 5): the store already holds the truth.
void mirror(const std::optional<OpenFile>& file, const std::optional<XattrLabel>& current,
            const Entry& entry) {
  if (!file) return;
  const XattrLabel wanted{entry.id, entry.label.to_string()};
  if (current && *current == wanted) return;
  (void)detail::write_label_xattr(*file, wanted);
}

auto label_mismatch(const std::string& resource, const std::optional<ResourceLabel>& current,
                    const ResourceLabel& expected) {
  if (!current)
    return make_error(Errc::update_rejected, "Resource '" + resource + "' is not labeled");
  return make_error(Errc::update_rejected, "Resource '" + resource + "' is labeled with '" +
                                               current->to_string() + "', not '" +
                                               expected.to_string() + "'");
}

}  // namespace

// Where a resource's label lives (label_store.hpp rules 1-4).
struct ResourceLabelStore::Located {
  enum class Kind {
    none,           // no label
    exact,          // the store has this name (rule 1)
    symlink_alias,  // a stored name resolves to this one (rule 4)
    hard_link,      // another name of the stored file (rule 2)
    moved,          // the stored file now lives under this name (rule 2)
    copied,         // a copy of the stored file (rule 2)
  };
  Kind kind = Kind::none;
  std::string key;                 // the entry holding the label (not for none)
  std::optional<OpenFile> file;    // the regular file at the resource's name
  std::optional<XattrLabel> attr;  // and its attribute
};

ResourceLabelStore::ResourceLabelStore(fs::path path, RootFs root, UniqueFd lock, Map entries)
    : path_(std::move(path)),
      root_(std::move(root)),
      lock_(std::move(lock)),
      entries_(std::move(entries)) {}

Result<ResourceLabelStore> ResourceLabelStore::open(fs::path store_file, RootFs root) {
  if (store_file.empty() || !store_file.has_filename()) {
    return make_error(Errc::invalid_argument,
                      "resource label store path '" + store_file.string() + "' names no file");
  }
  if (auto made = make_directories(store_file.parent_path()); !made)
    return tl::unexpected(made.error());

  fs::path lock_path = store_file;
  lock_path += ".lock";
  UniqueFd lock(
      ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kStoreFileMode));
  if (!lock) {
    return make_error(Errc::io_error, "cannot open the lock file '" + lock_path.string() + "' of " +
                                          store_name(store_file) + ": " + errno_text(errno));
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return make_error(Errc::io_error, store_name(store_file) +
                                            " is locked by another process (lock file '" +
                                            lock_path.string() + "'); is another xend running?");
    }
    return make_error(Errc::io_error,
                      "cannot lock '" + lock_path.string() + "': " + errno_text(errno));
  }
  remove_stale_temporaries(store_file);

  Map entries;
  struct stat st {};
  if (::stat(store_file.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return make_error(Errc::io_error,
                        "cannot read " + store_name(store_file) + ": " + errno_text(errno));
    }
    // No file yet: an empty store (Xen's rule too).
  } else {
    auto text = acm::read_text_file(store_file);
    if (!text) {
      return make_error(Errc::io_error,
                        "cannot read " + store_name(store_file) + ": " + text.error().message);
    }
    auto parsed = detail::parse_store(*text, store_file);
    if (!parsed) return tl::unexpected(parsed.error());
    entries = std::move(*parsed);
  }
  return ResourceLabelStore(std::move(store_file), std::move(root), std::move(lock),
                            std::move(entries));
}

ResourceLabelStore::Located ResourceLabelStore::locate(const ResourceName& resource) const {
  Located found;
  const std::string key = resource.to_string();
  if (resource.is_file_backed()) {
    found.file = detail::open_regular_file(root_, resource.path);
    if (found.file) found.attr = detail::read_label_xattr(*found.file);
  }
  if (entries_.count(key) != 0) {
    found.kind = Located::Kind::exact;
    found.key = key;
    return found;
  }

  if (found.attr) {
    const Entry* owner = nullptr;
    for (const auto& [stored_key, entry] : entries_) {
      if (entry.id == found.attr->id) {
        owner = &entry;
        break;
      }
    }
    // An id the store does not know is ignored (rule 3).
    if (owner != nullptr && owner->resource.is_file_backed()) {
      found.key = owner->resource.to_string();
      const auto at_owner = detail::open_regular_file(root_, owner->resource.path);
      if (!at_owner) {
        found.kind = Located::Kind::moved;
      } else if (at_owner->same_file(*found.file)) {
        found.kind = Located::Kind::hard_link;
      } else {
        const auto owner_attr = detail::read_label_xattr(*at_owner);
        const bool owner_has_it = owner_attr && owner_attr->id == found.attr->id;
        found.kind = owner_has_it ? Located::Kind::copied : Located::Kind::moved;
      }
      return found;
    }
  }

  // Xen's lookup: canonicalize every stored key now that the resource must
  // exist, e.g. "phy:/dev/mapper/vg-lv" resolving to "phy:/dev/dm-3".
  for (const auto& [stored_key, entry] : entries_) {
    const std::string& type = entry.resource.type;
    if (type != "phy" && type != "file" && type != "tap") continue;
    auto resolved = canonicalize(root_, stored_key, "/", true);
    if (resolved && *resolved == resource) {
      found.kind = Located::Kind::symlink_alias;
      found.key = stored_key;
      return found;
    }
  }
  return found;
}

Result<std::optional<ResourceLabel>> ResourceLabelStore::get(const ResourceName& resource) {
  Located found = locate(resource);
  const std::string key = resource.to_string();
  switch (found.kind) {
    case Located::Kind::none:
      return std::optional<ResourceLabel>{};
    case Located::Kind::exact: {
      const Entry& entry = entries_.at(found.key);
      mirror(found.file, found.attr, entry);
      return std::optional<ResourceLabel>{entry.label};
    }
    case Located::Kind::symlink_alias:
    case Located::Kind::hard_link:
      return std::optional<ResourceLabel>{entries_.at(found.key).label};
    case Located::Kind::moved: {
      Map next = entries_;
      auto node = next.extract(found.key);
      node.key() = key;
      node.mapped().resource = resource;
      next.insert(std::move(node));
      if (auto committed = commit(std::move(next)); !committed)
        return tl::unexpected(committed.error());
      mirror(found.file, found.attr, entries_.at(key));
      return std::optional<ResourceLabel>{entries_.at(key).label};
    }
    case Located::Kind::copied: {
      Map next = entries_;
      Entry copy{resource, entries_.at(found.key).label, fresh_id(next)};
      next.emplace(key, std::move(copy));
      if (auto committed = commit(std::move(next)); !committed)
        return tl::unexpected(committed.error());
      mirror(found.file, found.attr, entries_.at(key));
      return std::optional<ResourceLabel>{entries_.at(key).label};
    }
  }
  return std::optional<ResourceLabel>{};
}

Status ResourceLabelStore::set(const ResourceName& resource, const ResourceLabel& label,
                               const std::optional<ResourceLabel>& expected_old) {
  const std::string key = resource.to_string();
  if (auto canonical = ResourceName::parse_canonical(key); !canonical)
    return tl::unexpected(canonical.error());
  if (auto valid = label.validate(); !valid) return valid;

  Located found = locate(resource);
  std::optional<ResourceLabel> current;
  if (found.kind != Located::Kind::none) current = entries_.at(found.key).label;
  if (expected_old && current != expected_old) return label_mismatch(key, current, *expected_old);

  Map next = entries_;
  std::string written = key;
  switch (found.kind) {
    case Located::Kind::none:
    case Located::Kind::copied:  // the copy gets an entry of its own
      next.emplace(key, Entry{resource, label, fresh_id(next)});
      break;
    case Located::Kind::exact:
    case Located::Kind::symlink_alias:
    case Located::Kind::hard_link:
      next.at(found.key).label = label;  // same entry, same id
      written = found.key;
      break;
    case Located::Kind::moved: {
      auto node = next.extract(found.key);
      node.key() = key;
      node.mapped().resource = resource;
      node.mapped().label = label;
      next.insert(std::move(node));
      break;
    }
  }
  if (auto committed = commit(std::move(next)); !committed) return committed;
  mirror(found.file, found.attr, entries_.at(written));
  return {};
}

Status ResourceLabelStore::remove(const ResourceName& resource) {
  Located found = locate(resource);
  switch (found.kind) {
    case Located::Kind::none:
      return make_error(Errc::not_found, "Resource not labeled");
    case Located::Kind::copied:
      // The copy's label is only its inherited attribute.
      if (found.file) {
        if (const int err = detail::remove_label_xattr(*found.file); err != 0) {
          return make_error(Errc::io_error, "cannot remove the label of '" + resource.to_string() +
                                                "' (a copy of '" + found.key +
                                                "'): " + errno_text(err));
        }
      }
      return {};
    case Located::Kind::exact:
    case Located::Kind::symlink_alias:
    case Located::Kind::hard_link:
    case Located::Kind::moved:
      break;
  }
  const std::string id = entries_.at(found.key).id;
  Map next = entries_;
  next.erase(found.key);
  if (auto committed = commit(std::move(next)); !committed) return committed;
  if (found.file && found.attr && found.attr->id == id) {
    (void)detail::remove_label_xattr(*found.file);  // unknown ids are ignored anyway (rule 3)
  }
  return {};
}

std::vector<Entry> ResourceLabelStore::list() const {
  std::vector<Entry> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_)
    out.push_back(entry);
  return out;
}

Status ResourceLabelStore::apply(const std::vector<Change>& changes) {
  Map next = entries_;
  std::set<std::string, std::less<>> seen;
  std::vector<std::string> labeled;  // keys whose attribute to refresh
  std::vector<Entry> removed;
  for (const auto& change : changes) {
    const std::string key = change.resource.to_string();
    if (auto canonical = ResourceName::parse_canonical(key); !canonical) {
      return tl::unexpected(canonical.error());
    }
    if (!seen.insert(key).second) {
      return make_error(Errc::invalid_argument,
                        "Resource '" + key + "' appears twice in one batch");
    }
    auto it = next.find(key);
    if (change.expected_old) {
      std::optional<ResourceLabel> current;
      if (it != next.end()) current = it->second.label;
      if (current != change.expected_old) return label_mismatch(key, current, *change.expected_old);
    }
    if (change.new_label) {
      if (auto valid = change.new_label->validate(); !valid) return valid;
      if (it != next.end()) {
        it->second.label = *change.new_label;
      } else {
        next.emplace(key, Entry{change.resource, *change.new_label, fresh_id(next)});
      }
      labeled.push_back(key);
    } else {
      if (it == next.end())
        return make_error(Errc::not_found, "Resource '" + key + "' is not labeled");
      removed.push_back(it->second);
      next.erase(it);
    }
  }
  if (changes.empty()) return {};
  if (auto committed = commit(std::move(next)); !committed) return committed;

  // Attributes follow, best effort; one that belongs to another entry stays.
  for (const auto& key : labeled) {
    const Entry& entry = entries_.at(key);
    if (!entry.resource.is_file_backed()) continue;
    auto file = detail::open_regular_file(root_, entry.resource.path);
    if (!file) continue;
    const auto attr = detail::read_label_xattr(*file);
    if (!attr || attr->id == entry.id) mirror(file, attr, entry);
  }
  for (const auto& entry : removed) {
    if (!entry.resource.is_file_backed()) continue;
    auto file = detail::open_regular_file(root_, entry.resource.path);
    if (!file) continue;
    const auto attr = detail::read_label_xattr(*file);
    if (attr && attr->id == entry.id) (void)detail::remove_label_xattr(*file);
  }
  return {};
}

Status ResourceLabelStore::commit(Map next) {
  auto text = detail::serialize_store(next);
  if (!text) return tl::unexpected(text.error());
  if (auto written = acm::write_file_atomic(path_, *text, kStoreFileMode); !written) {
    return make_error(written.error().code,
                      "cannot write " + store_name(path_) + ": " + written.error().message);
  }
  entries_ = std::move(next);
  return {};
}

std::string ResourceLabelStore::fresh_id(const Map& in) const {
  for (;;) {
    std::string id = random_id();
    bool used = false;
    for (const auto& [key, entry] : in) {
      if (entry.id == id) {
        used = true;
        break;
      }
    }
    if (!used) return id;
  }
}

}  // namespace shype::resources
