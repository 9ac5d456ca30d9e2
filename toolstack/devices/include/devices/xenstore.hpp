// xenstore: the store itself (shype/io/xs_wire.hpp for the semantics), a
// tree of nodes, each with a value, permissions and children, served to
// Domain-0 in process (store_client.hpp) and to guests through their store
// page (xs_connection.hpp).
//
// Every operation names its caller. Domain-0 may do anything; a guest may
// read or write what the node's permissions give it (the owner may always
// do both). A guest's home /local/domain/<id> is owned by it. A node
// created by a write gets its parent's permissions, except that a guest
// owns what it creates (as Xen does).
//
// Transactions: a transaction works on its own copy of the tree taken at
// XS_TRANSACTION_START; committing it replaces the tree only if nothing
// changed the tree since (a global generation), else EAGAIN. Coarse but
// obviously serializable.
//
// Quotas keep a guest from exhausting Domain-0: nodes it owns, the size of
// a value, path length, watches and open transactions per domain.
//
// Watches fire once at registration and whenever the watched node or one
// below it is written, created, removed or has its permissions set (and,
// when a node is removed, watches below it fire too). A domain only gets
// events for nodes it may read. Sinks run synchronously inside the
// operation: they must only queue the event.
//
// Thread: the device thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "devices/store_client.hpp"
#include "shype/abi.hpp"
#include "shype/io/xs_wire.hpp"

namespace shype::devices {

struct XsLimits {
  std::uint32_t nodes_per_domain = 1000;
  std::uint32_t value_max = abi::io::kXsPayloadMax;
  std::uint32_t path_max = abi::io::kXsPathMax;
  std::uint32_t watches_per_domain = 128;
  std::uint32_t transactions_per_domain = 4;
};

// "/local/domain/<domid>"
[[nodiscard]] std::string domain_home(abi::domid_t domid);

class Xenstore {
 public:
  using Sink = std::function<void(const std::string& path, const std::string& token)>;

  explicit Xenstore(XsLimits limits = {});

  // `tx`: 0, or a transaction of `caller` from transaction_start.
  [[nodiscard]] XsResult<std::string> read(abi::domid_t caller, std::uint32_t tx,
                                           std::string_view path);
  [[nodiscard]] XsStatus write(abi::domid_t caller, std::uint32_t tx, std::string_view path,
                               std::string_view value);
  [[nodiscard]] XsStatus mkdir(abi::domid_t caller, std::uint32_t tx, std::string_view path);
  [[nodiscard]] XsStatus rm(abi::domid_t caller, std::uint32_t tx, std::string_view path);
  [[nodiscard]] XsResult<std::vector<std::string>> directory(abi::domid_t caller,
                                                             std::uint32_t tx,
                                                             std::string_view path);
  [[nodiscard]] XsResult<XsPerms> get_perms(abi::domid_t caller, std::uint32_t tx,
                                            std::string_view path);
  [[nodiscard]] XsStatus set_perms(abi::domid_t caller, std::uint32_t tx, std::string_view path,
                                   const XsPerms& perms);

  // `owner`: the client it belongs to (forget_owner ends it).
  [[nodiscard]] XsResult<std::uint32_t> transaction_start(abi::domid_t caller,
                                                          std::uint64_t owner = 0);
  // commit false: abort. EAGAIN: the tree changed meanwhile; nothing applied.
  [[nodiscard]] XsStatus transaction_end(abi::domid_t caller, std::uint32_t tx, bool commit);

  // Registers a watch of `caller` on `path` (absolute, relative to its
  // home, or "@introduceDomain" / "@releaseDomain"); the sink gets the
  // changed path (relative if the watch was) and `token`. EEXIST: the same
  // path and token are watched by this owner already.
  [[nodiscard]] XsResult<WatchId> watch(abi::domid_t caller, std::uint64_t owner,
                                        std::string_view path, std::string_view token, Sink sink);
  [[nodiscard]] XsStatus unwatch(abi::domid_t caller, std::uint64_t owner, std::string_view path,
                                 std::string_view token);
  void unwatch(WatchId id);
  // Drops the watches and transactions of one client (a connection gone).
  void forget_owner(std::uint64_t owner);
  // A fresh owner tag for a client (watches and transactions belong to it).
  [[nodiscard]] std::uint64_t new_owner() { return next_owner_++; }

  // Creates /local/domain/<domid> owned by the domain with name and domid
  // nodes, fires @introduceDomain.
  [[nodiscard]] XsStatus introduce_domain(abi::domid_t domid, const std::string& name);
  // Removes the home, every transaction of the domain, fires @releaseDomain.
  void release_domain(abi::domid_t domid);

  // Canonical absolute path, EINVAL if malformed, E2BIG if too long.
  [[nodiscard]] XsResult<std::string> canonical(abi::domid_t caller, std::string_view path) const;

  [[nodiscard]] std::size_t node_count() const { return tree_.nodes.size(); }
  [[nodiscard]] std::uint32_t nodes_owned(abi::domid_t domid) const;
  [[nodiscard]] std::size_t watch_count() const { return watches_.size(); }
  [[nodiscard]] std::size_t transaction_count() const { return transactions_.size(); }
  [[nodiscard]] const XsLimits& limits() const { return limits_; }

 private:
  struct Node {
    std::string value;
    XsPerms perms;
    std::set<std::string> children;
  };
  struct Tree {
    std::map<std::string, Node> nodes;
    std::map<abi::domid_t, std::uint32_t> owned;  // guests only
  };
  struct Change {
    std::string path;
    bool removed = false;
    XsPerms perms;  // of a removed node, before it went
  };
  struct Transaction {
    abi::domid_t domid = 0;
    std::uint64_t owner = 0;
    std::uint64_t generation = 0;
    Tree tree;
    std::vector<Change> changes;
  };
  struct Watch {
    abi::domid_t domid = 0;
    std::uint64_t owner = 0;
    std::string path;   // canonical (or "@...")
    bool relative = false;
    std::string token;
    Sink sink;
  };
  struct Event {
    std::string path;    // canonical
    XsPerms perms;       // of the node (before removal)
    bool removed = false;
  };

  [[nodiscard]] XsResult<Tree*> tree_for(abi::domid_t caller, std::uint32_t tx);
  // The canonical form of `path` and the tree `caller` sees in transaction
  // `tx` (0: none).
  struct Located {
    std::string path;
    Tree* tree = nullptr;
  };
  [[nodiscard]] XsResult<Located> locate(abi::domid_t caller, std::uint32_t tx,
                                         std::string_view path);
  // The node at `path` as `caller` sees it in `tx`: ENOENT if there is
  // none, EACCES if `caller` may not read it.
  [[nodiscard]] XsResult<const Node*> readable_node(abi::domid_t caller, std::uint32_t tx,
                                                    std::string_view path);
  void record(abi::domid_t caller, std::uint32_t tx, Change change);
  [[nodiscard]] XsStatus create_node(Tree& tree, abi::domid_t caller, const std::string& path,
                                     std::vector<Change>& created);
  void remove_subtree(Tree& tree, const std::string& path, std::vector<Event>* events);
  void fire(const std::vector<Event>& events);
  void fire_special(const std::string& name);
  void changed(const Tree& tree, const std::vector<Change>& changes);

  XsLimits limits_;
  Tree tree_;
  std::uint64_t generation_ = 0;
  std::map<std::uint32_t, Transaction> transactions_;
  std::uint32_t next_tx_ = 1;
  std::map<WatchId, Watch> watches_;
  WatchId next_watch_ = 1;
  std::uint64_t next_owner_ = 1;
};

[[nodiscard]] XsAccess access_of(const XsPerms& perms, abi::domid_t caller);
[[nodiscard]] bool can_read(const XsPerms& perms, abi::domid_t caller);
[[nodiscard]] bool can_write(const XsPerms& perms, abi::domid_t caller);
// Errno name for XS_ERROR ("ENOENT"), and back (EINVAL if unknown).
[[nodiscard]] std::string errno_name(int error);

// Domain-0's in-process client of a store. `post` runs a watch callback
// after the operation that fired it returned (the device loop's defer).
[[nodiscard]] std::unique_ptr<StoreClient> make_store_client(
    Xenstore& store, std::function<void(std::function<void()>)> post);

}  // namespace shype::devices
