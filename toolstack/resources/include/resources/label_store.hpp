// The resource label store (reference xen-acm-tools.md 2.3; manual 10.2.5,
// 10.4.2; docs/resource-labels.md): which resource carries which label.
// xend owns it at SHYPE_ROOT/var/lib/xend/security/policies/resource_labels.
// What may be labeled (is the label a resource label of the policy, is the
// resource in use by a running domain) is xend's decision; this class only
// records decisions, durably.
//
// File: versioned JSON written by this class only
//   {"format": "shype-resource-labels", "version": 1,
//    "resources": {"file:/home/xen/x.img":
//                   {"type": "ACM", "policy": "mytest", "label": "A-Bank",
//                    "id": "<32 hex digits>"}, ...}}
// Keys are canonical resource names (resource_name.hpp); the id is unique in
// the store and ties an entry to the extended attribute on its file.
//
// Guarantees:
//  - Durable: set, remove, apply and a get that re-keys an entry return only
//    after the new file is on disk (acm::write_file_atomic: temporary file,
//    fsync, rename, directory fsync). A process killed at any moment leaves
//    the old or the new file, never a torn one, and never loses a change
//    that was acknowledged.
//  - Honest: a missing file is an empty store; a file that cannot be read,
//    is not JSON (the error gives the line, column and byte offset), has
//    another format or version, or holds an invalid entry is an error naming
//    the file - never silently an empty store.
//  - One writer: open() takes an exclusive flock(2) on "<store>.lock" for
//    the life of the object; a second opener (another xend) fails with an
//    error naming the lock file instead of interleaving writes. Temporary
//    files left by a killed writer are removed while the lock is held.
//  - All or nothing: apply() replaces the file once for a whole batch.
//
// Labels travel with files (beyond Xen; manual 10.4.2 lists the loss of
// labels on a move as a limitation). A file: or tap: entry also writes the
// extended attribute "user.shype.label" = {"id": ..., "label": "ACM:p:l"}
// on the file. Rules, the store being authoritative:
//  1. A name in the store has the store's label, whatever the file at that
//     name carries (its extended attribute is rewritten to match when they
//     differ). This is Xen's rule and keeps `xm resources` the single truth.
//  2. A name not in the store whose file carries the attribute with the id of
//     entry E is the same data as E's file:
//      - E's path no longer holds a file with that id (the file was moved or
//        renamed): E is re-keyed to the new name, durably, and keeps its
//        label and id; set() and remove() through the new name act on E;
//      - E's path holds this very file (a hard link): E's label applies and
//        operations on this name act on E;
//      - E's path holds another file with the same id (a copy, e.g. cp -a,
//        which copies extended attributes): the copy keeps the label. It gets
//        an entry of its own under its name with a fresh id (written to the
//        copy's attribute), so later moves of either file are told apart.
//        Keeping the label is the safe choice: the copy holds the labeled
//        workload's data, and dropping its label would let it be handed to a
//        domain the original was kept from.
//     The label is always the store's (E's), never the attribute's text.
//  3. An attribute whose id the store does not know (its entry was removed,
//     or the file comes from another system) is ignored: the file is
//     unlabeled.
//  4. A stored name that now resolves elsewhere through a symlink (e.g.
//     "phy:/dev/mapper/vg-lv" -> "phy:/dev/dm-3") is found from the resolved
//     name, as Xen's lookup did (it canonicalized every stored key).
//  5. Where the file system refuses extended attributes (ENOTSUP, read-only,
//     ...) or the file does not exist yet, the store alone holds the label;
//     this is not an error. Attribute writes are not fsync'ed (that would
//     flush a whole disk image); a lost attribute only loses move tracking.
// phy:, vlan: and other resources have no attribute.
// remove() clears the attribute when it carries the removed entry's id (or
// the copy's inherited one).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acm/error.hpp"
#include "resources/resource_label.hpp"
#include "resources/resource_name.hpp"
#include "resources/root_fs.hpp"
#include "resources/unique_fd.hpp"

namespace shype::resources {

// The extended attribute that carries the label with the file.
inline constexpr const char* kLabelXattr = "user.shype.label";

struct Entry {
  ResourceName resource;
  ResourceLabel label;
  std::string id;  // 32 lowercase hex digits, unique in the store

  friend bool operator==(const Entry&, const Entry&) = default;
};

// One change of a batch (apply). Names are canonical store keys, as list()
// returns them; apply() does not follow moved files.
struct Change {
  ResourceName resource;
  std::optional<ResourceLabel> new_label;     // nullopt: remove the entry
  std::optional<ResourceLabel> expected_old;  // if set, the entry must carry exactly this label

  friend bool operator==(const Change&, const Change&) = default;
};

// Not thread-safe: one thread at a time (xend serializes label commands as
// Xen's resfile_lock did).
class ResourceLabelStore {
 public:
  // store_file is a host path (xend passes
  // RootFs::host_path("/var/lib/xend/security/policies/resource_labels")).
  // Locks "<store_file>.lock", reads store_file (missing = empty) and
  // validates it. Missing parent directories are created with mode 0700
  // (as xend created its policies directory). Errors: io_error (unreadable,
  // locked, directory not creatable), unsupported (another format or a
  // newer version), invalid_argument (not JSON, or an invalid entry), each
  // naming the file.
  [[nodiscard]] static Result<ResourceLabelStore> open(std::filesystem::path store_file,
                                                       RootFs root);

  ResourceLabelStore(ResourceLabelStore&&) noexcept = default;
  ResourceLabelStore& operator=(ResourceLabelStore&&) noexcept = default;
  ResourceLabelStore(const ResourceLabelStore&) = delete;
  ResourceLabelStore& operator=(const ResourceLabelStore&) = delete;
  ~ResourceLabelStore() = default;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] const RootFs& root() const noexcept { return root_; }

  // The label of a resource, or nullopt if it has none (rules 1-4 above).
  // May write the store (a moved file's entry is re-keyed, a copy gets its
  // own entry) and so can fail with io_error.
  [[nodiscard]] Result<std::optional<ResourceLabel>> get(const ResourceName& resource);

  // Labels a resource (add or replace). If expected_old is set, the
  // resource's current label must equal it, else update_rejected ("Resource
  // '<r>' is labeled with 'X', not 'Y'" or "Resource '<r>' is not labeled"),
  // as Xen's set_resource_label refused a stale old label. A relabeled entry
  // keeps its id. invalid_argument for a malformed label.
  [[nodiscard]] Status set(const ResourceName& resource, const ResourceLabel& label,
                           const std::optional<ResourceLabel>& expected_old = std::nullopt);

  // Removes a resource's label; not_found "Resource not labeled" if it has
  // none (Xen's message, tools 1.4).
  [[nodiscard]] Status remove(const ResourceName& resource);

  // Every entry, sorted by resource name (byte order). Xen's `xm resources`
  // printed Python dictionary order, i.e. no order at all; sorted output is
  // stable across runs and machines.
  [[nodiscard]] std::vector<Entry> list() const;

  // Applies a batch as one file replacement: every change is checked first
  // (a removed or expected entry must exist, expected_old must match, no
  // resource twice, labels well-formed); on any error nothing is written and
  // the error names the offending resource. Entries created here get fresh
  // ids. Used by xend when a policy update renames or invalidates labels
  // (from the policy core's change plan, acm/policy_change.hpp) and when
  // resetpolicy invalidates them.
  [[nodiscard]] Status apply(const std::vector<Change>& changes);

 private:
  // Keyed by ResourceName::to_string().
  using Map = std::map<std::string, Entry, std::less<>>;
  struct Located;

  ResourceLabelStore(std::filesystem::path path, RootFs root, UniqueFd lock, Map entries);

  [[nodiscard]] Located locate(const ResourceName& resource) const;
  [[nodiscard]] Status commit(Map next);
  [[nodiscard]] std::string fresh_id(const Map& in) const;

  std::filesystem::path path_;
  RootFs root_;
  UniqueFd lock_;
  Map entries_;
};

}  // namespace shype::resources
