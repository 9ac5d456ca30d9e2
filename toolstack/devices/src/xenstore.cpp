// The store (xenstore.hpp): nodes, permissions, quotas, transactions and
// watches.
#include "devices/xenstore.hpp"

#include <cerrno>
#include <utility>

namespace shype::devices {
namespace {

constexpr std::string_view kIntroduceDomain = "@introduceDomain";
constexpr std::string_view kReleaseDomain = "@releaseDomain";

bool valid_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '@' || c == '-' || c == '.';
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string leaf_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Whether `path` is `base` or below it.
bool at_or_below(const std::string& path, const std::string& base) {
  if (base == "/") return true;
  return path == base || (path.size() > base.size() && path.compare(0, base.size(), base) == 0 &&
                          path[base.size()] == '/');
}

}  // namespace

std::string domain_home(abi::domid_t domid) { return "/local/domain/" + std::to_string(domid); }

XsAccess access_of(const XsPerms& perms, abi::domid_t caller) {
  if (caller == abi::kDomain0) return XsAccess::both;
  if (perms.empty()) return XsAccess::none;
  if (perms.front().domid == caller) return XsAccess::both;  // the owner
  for (std::size_t i = 1; i < perms.size(); ++i) {
    if (perms[i].domid == caller) return perms[i].access;
  }
  return perms.front().access;
}

bool can_read(const XsPerms& perms, abi::domid_t caller) {
  const XsAccess a = access_of(perms, caller);
  return a == XsAccess::read || a == XsAccess::both;
}

bool can_write(const XsPerms& perms, abi::domid_t caller) {
  const XsAccess a = access_of(perms, caller);
  return a == XsAccess::write || a == XsAccess::both;
}

std::string format_perm(const XsPerm& perm) {
  char letter = 'n';
  switch (perm.access) {
    case XsAccess::none: letter = 'n'; break;
    case XsAccess::read: letter = 'r'; break;
    case XsAccess::write: letter = 'w'; break;
    case XsAccess::both: letter = 'b'; break;
  }
  return letter + std::to_string(perm.domid);
}

XsResult<XsPerm> parse_perm(std::string_view text) {
  if (text.size() < 2 || text.size() > 6) return tl::unexpected(EINVAL);
  XsPerm perm;
  switch (text.front()) {
    case 'n': perm.access = XsAccess::none; break;
    case 'r': perm.access = XsAccess::read; break;
    case 'w': perm.access = XsAccess::write; break;
    case 'b': perm.access = XsAccess::both; break;
    default: return tl::unexpected(EINVAL);
  }
  std::uint32_t value = 0;
  for (const char c : text.substr(1)) {
    if (c < '0' || c > '9') return tl::unexpected(EINVAL);
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 0xffff) return tl::unexpected(EINVAL);
  perm.domid = static_cast<abi::domid_t>(value);
  return perm;
}

std::string errno_name(int error) {
  switch (error) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EEXIST: return "EEXIST";
    case EAGAIN: return "EAGAIN";
    case ENOSPC: return "ENOSPC";
    case EPERM: return "EPERM";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBUSY: return "EBUSY";
    case ENOSYS: return "ENOSYS";
    case EROFS: return "EROFS";
    case ENOMEM: return "ENOMEM";
    default: return "EIO";
  }
}

Xenstore::Xenstore(XsLimits limits) : limits_(limits) {
  const XsPerms dom0_only{XsPerm{abi::kDomain0, XsAccess::none}};
  tree_.nodes["/"] = Node{"", dom0_only, {"local"}};
  tree_.nodes["/local"] = Node{"", dom0_only, {"domain"}};
  tree_.nodes["/local/domain"] = Node{"", dom0_only, {}};
}

XsResult<std::string> Xenstore::canonical(abi::domid_t caller, std::string_view path) const {
  if (path.empty()) return tl::unexpected(EINVAL);
  std::string full = path.front() == '/' ? std::string(path)
                                         : domain_home(caller) + "/" + std::string(path);
  if (full.size() > limits_.path_max) return tl::unexpected(E2BIG);
  if (full == "/") return full;
  if (full.back() == '/') return tl::unexpected(EINVAL);
  bool after_slash = false;
  for (const char c : full) {
    if (c == '/') {
      if (after_slash) return tl::unexpected(EINVAL);  // an empty component
      after_slash = true;
    } else {
      if (!valid_char(c)) return tl::unexpected(EINVAL);
      after_slash = false;
    }
  }
  return full;
}

std::uint32_t Xenstore::nodes_owned(abi::domid_t domid) const {
  const auto it = tree_.owned.find(domid);
  return it == tree_.owned.end() ? 0 : it->second;
}

XsResult<Xenstore::Tree*> Xenstore::tree_for(abi::domid_t caller, std::uint32_t tx) {
  if (tx == 0) return &tree_;
  const auto it = transactions_.find(tx);
  if (it == transactions_.end() || it->second.domid != caller) return tl::unexpected(ENOENT);
  return &it->second.tree;
}

namespace {
void count_owner(std::map<abi::domid_t, std::uint32_t>& owned, const XsPerms& perms, int delta) {
  if (perms.empty() || perms.front().domid == abi::kDomain0) return;
  auto& n = owned[perms.front().domid];
  n = static_cast<std::uint32_t>(static_cast<int>(n) + delta);
  if (n == 0) owned.erase(perms.front().domid);
}
}  // namespace

void Xenstore::record(abi::domid_t caller, std::uint32_t tx, Change change) {
  if (tx != 0) {
    auto it = transactions_.find(tx);
    if (it != transactions_.end() && it->second.domid == caller) {
      it->second.changes.push_back(std::move(change));
    }
    return;
  }
  ++generation_;
  changed(tree_, {std::move(change)});
}

XsStatus Xenstore::create_node(Tree& tree, abi::domid_t caller, const std::string& path,
                               std::vector<Change>& created) {
  // The missing components, deepest last.
  std::vector<std::string> missing;
  std::string at = path;
  while (!tree.nodes.contains(at)) {
    missing.push_back(at);
    at = parent_of(at);
  }
  const Node& ancestor = tree.nodes.at(at);
  if (!can_write(ancestor.perms, caller)) return tl::unexpected(EACCES);
  XsPerms perms = ancestor.perms;
  if (caller != abi::kDomain0) perms.front().domid = caller;  // a guest owns what it creates
  const abi::domid_t owner = perms.front().domid;
  if (caller != abi::kDomain0 && owner != abi::kDomain0) {
    const auto it = tree.owned.find(owner);
    const std::uint32_t have = it == tree.owned.end() ? 0 : it->second;
    if (have + missing.size() > limits_.nodes_per_domain) return tl::unexpected(ENOSPC);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    tree.nodes[parent_of(*it)].children.insert(leaf_of(*it));
    tree.nodes[*it] = Node{"", perms, {}};
    count_owner(tree.owned, perms, +1);
    created.push_back(Change{*it, false, {}});
  }
  return {};
}

XsResult<Xenstore::Located> Xenstore::locate(abi::domid_t caller, std::uint32_t tx,
                                              std::string_view path) {
  auto full = canonical(caller, path);
  if (!full) return tl::unexpected(full.error());
  auto tree = tree_for(caller, tx);
  if (!tree) return tl::unexpected(tree.error());
  return Located{std::move(*full), *tree};
}

XsResult<const Xenstore::Node*> Xenstore::readable_node(abi::domid_t caller, std::uint32_t tx,
                                                        std::string_view path) {
  auto at = locate(caller, tx, path);
  if (!at) return tl::unexpected(at.error());
  const auto it = at->tree->nodes.find(at->path);
  if (it == at->tree->nodes.end()) return tl::unexpected(ENOENT);
  if (!can_read(it->second.perms, caller)) return tl::unexpected(EACCES);
  return &it->second;
}

XsResult<std::string> Xenstore::read(abi::domid_t caller, std::uint32_t tx,
                                     std::string_view path) {
  auto node = readable_node(caller, tx, path);
  if (!node) return tl::unexpected(node.error());
  return (*node)->value;
}

XsStatus Xenstore::write(abi::domid_t caller, std::uint32_t tx, std::string_view path,
                         std::string_view value) {
  if (value.size() > limits_.value_max) return tl::unexpected(E2BIG);
  auto full = canonical(caller, path);
  if (!full) return tl::unexpected(full.error());
  auto tree = tree_for(caller, tx);
  if (!tree) return tl::unexpected(tree.error());
  std::vector<Change> changes;
  auto it = (*tree)->nodes.find(*full);
  if (it == (*tree)->nodes.end()) {
    if (auto made = create_node(**tree, caller, *full, changes); !made) return made;
    it = (*tree)->nodes.find(*full);
  } else if (!can_write(it->second.perms, caller)) {
    return tl::unexpected(EACCES);
  }
  it->second.value = std::string(value);
  record(caller, tx, Change{*full, false, {}});
  return {};
}

XsStatus Xenstore::mkdir(abi::domid_t caller, std::uint32_t tx, std::string_view path) {
  auto full = canonical(caller, path);
  if (!full) return tl::unexpected(full.error());
  auto tree = tree_for(caller, tx);
  if (!tree) return tl::unexpected(tree.error());
  const auto it = (*tree)->nodes.find(*full);
  if (it != (*tree)->nodes.end()) {
    // As Xen: an existing node is fine, if the caller may see it.
    return can_read(it->second.perms, caller) ? XsStatus{} : tl::unexpected(EACCES);
  }
  std::vector<Change> created;
  if (auto made = create_node(**tree, caller, *full, created); !made) return made;
  record(caller, tx, Change{*full, false, {}});
  return {};
}

void Xenstore::remove_subtree(Tree& tree, const std::string& path, std::vector<Event>* events) {
  const auto it = tree.nodes.find(path);
  if (it == tree.nodes.end()) return;
  const std::set<std::string> children = it->second.children;
  for (const auto& child : children)
    remove_subtree(tree, path == "/" ? "/" + child : path + "/" + child, events);
  count_owner(tree.owned, it->second.perms, -1);
  tree.nodes.erase(it);
  (void)events;
}

XsStatus Xenstore::rm(abi::domid_t caller, std::uint32_t tx, std::string_view path) {
  auto full = canonical(caller, path);
  if (!full) return tl::unexpected(full.error());
  if (*full == "/") return tl::unexpected(EINVAL);
  auto tree = tree_for(caller, tx);
  if (!tree) return tl::unexpected(tree.error());
  const auto it = (*tree)->nodes.find(*full);
  if (it == (*tree)->nodes.end()) return tl::unexpected(ENOENT);
  if (!can_write(it->second.perms, caller)) return tl::unexpected(EACCES);
  Change change{*full, true, it->second.perms};
  remove_subtree(**tree, *full, nullptr);
  (*tree)->nodes[parent_of(*full)].children.erase(leaf_of(*full));
  record(caller, tx, std::move(change));
  return {};
}

XsResult<std::vector<std::string>> Xenstore::directory(abi::domid_t caller, std::uint32_t tx,
                                                       std::string_view path) {
  auto node = readable_node(caller, tx, path);
  if (!node) return tl::unexpected(node.error());
  return std::vector<std::string>((*node)->children.begin(), (*node)->children.end());
}

XsResult<XsPerms> Xenstore::get_perms(abi::domid_t caller, std::uint32_t tx,
                                      std::string_view path) {
  auto node = readable_node(caller, tx, path);
  if (!node) return tl::unexpected(node.error());
  return (*node)->perms;
}

XsStatus Xenstore::set_perms(abi::domid_t caller, std::uint32_t tx, std::string_view path,
                             const XsPerms& perms) {
  if (perms.empty()) return tl::unexpected(EINVAL);
  auto full = canonical(caller, path);
  if (!full) return tl::unexpected(full.error());
  auto tree = tree_for(caller, tx);
  if (!tree) return tl::unexpected(tree.error());
  const auto it = (*tree)->nodes.find(*full);
  if (it == (*tree)->nodes.end()) return tl::unexpected(ENOENT);
  const abi::domid_t owner = it->second.perms.front().domid;
  if (caller != abi::kDomain0) {
    if (owner != caller) return tl::unexpected(EACCES);
    // Quotas count nodes by owner: a guest cannot give nodes away.
    if (perms.front().domid != caller) return tl::unexpected(EPERM);
  }
  count_owner((*tree)->owned, it->second.perms, -1);
  it->second.perms = perms;
  count_owner((*tree)->owned, it->second.perms, +1);
  record(caller, tx, Change{*full, false, {}});
  return {};
}

XsResult<std::uint32_t> Xenstore::transaction_start(abi::domid_t caller, std::uint64_t owner) {
  std::uint32_t open = 0;
  for (const auto& [id, t] : transactions_) open += t.domid == caller ? 1 : 0;
  if (caller != abi::kDomain0 && open >= limits_.transactions_per_domain) {
    return tl::unexpected(ENOSPC);
  }
  while (next_tx_ == 0 || transactions_.contains(next_tx_))
    ++next_tx_;
  const std::uint32_t id = next_tx_++;
  Transaction t;
  t.domid = caller;
  t.owner = owner;
  t.generation = generation_;
  t.tree = tree_;
  transactions_.emplace(id, std::move(t));
  return id;
}

XsStatus Xenstore::transaction_end(abi::domid_t caller, std::uint32_t tx, bool commit) {
  const auto it = transactions_.find(tx);
  if (it == transactions_.end() || it->second.domid != caller) return tl::unexpected(ENOENT);
  Transaction t = std::move(it->second);
  transactions_.erase(it);
  if (!commit) return {};
  if (t.generation != generation_) return tl::unexpected(EAGAIN);
  if (t.changes.empty()) return {};
  tree_ = std::move(t.tree);
  ++generation_;
  changed(tree_, t.changes);
  return {};
}

void Xenstore::changed(const Tree& tree, const std::vector<Change>& changes) {
  std::vector<Event> events;
  for (const auto& change : changes) {
    Event e;
    e.path = change.path;
    const auto it = tree.nodes.find(change.path);
    if (!change.removed && it != tree.nodes.end()) {
      e.perms = it->second.perms;
    } else if (!change.perms.empty()) {
      e.perms = change.perms;
    } else {
      // Removed later in the same transaction: the nearest ancestor decides.
      std::string at = parent_of(change.path);
      while (!tree.nodes.contains(at))
        at = parent_of(at);
      e.perms = tree.nodes.at(at).perms;
    }
    e.removed = change.removed;
    events.push_back(std::move(e));
  }
  fire(events);
}

void Xenstore::fire(const std::vector<Event>& events) {
  struct Delivery {
    Sink sink;
    std::string path;
    std::string token;
  };
  std::vector<Delivery> deliveries;
  for (const auto& e : events) {
    for (const auto& [id, w] : watches_) {
      if (w.path.front() == '@') continue;
      std::string hit;
      if (at_or_below(e.path, w.path)) {
        hit = e.path;
      } else if (e.removed && at_or_below(w.path, e.path)) {
        hit = w.path;
      } else {
        continue;
      }
      if (!can_read(e.perms, w.domid)) continue;
      if (w.relative) {
        const std::string home = domain_home(w.domid) + "/";
        if (hit.compare(0, home.size(), home) == 0) hit = hit.substr(home.size());
      }
      deliveries.push_back(Delivery{w.sink, hit, w.token});
    }
  }
  for (auto& d : deliveries)
    d.sink(d.path, d.token);
}

void Xenstore::fire_special(const std::string& name) {
  std::vector<std::pair<Sink, std::string>> deliveries;
  for (const auto& [id, w] : watches_) {
    if (w.path == name) deliveries.emplace_back(w.sink, w.token);
  }
  for (auto& [sink, token] : deliveries)
    sink(name, token);
}

XsResult<WatchId> Xenstore::watch(abi::domid_t caller, std::uint64_t owner, std::string_view path,
                                  std::string_view token, Sink sink) {
  if (token.size() > limits_.path_max) return tl::unexpected(E2BIG);
  std::string full;
  bool relative = false;
  if (!path.empty() && path.front() == '@') {
    if (path != kIntroduceDomain && path != kReleaseDomain) return tl::unexpected(EINVAL);
    full = std::string(path);
  } else {
    auto c = canonical(caller, path);
    if (!c) return tl::unexpected(c.error());
    full = std::move(*c);
    relative = path.front() != '/';
  }
  std::uint32_t mine = 0;
  for (const auto& [id, w] : watches_) {
    if (w.domid == caller) ++mine;
    if (w.owner == owner && w.path == full && w.token == token) return tl::unexpected(EEXIST);
  }
  if (caller != abi::kDomain0 && mine >= limits_.watches_per_domain) {
    return tl::unexpected(E2BIG);
  }
  const WatchId id = next_watch_++;
  watches_.emplace(id, Watch{caller, owner, full, relative, std::string(token), sink});
  // As Xen: once right away, with the path as given.
  sink(std::string(path), std::string(token));
  return id;
}

XsStatus Xenstore::unwatch(abi::domid_t caller, std::uint64_t owner, std::string_view path,
                           std::string_view token) {
  std::string full(path);
  if (path.empty() || path.front() != '@') {
    auto c = canonical(caller, path);
    if (!c) return tl::unexpected(c.error());
    full = std::move(*c);
  }
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (it->second.owner == owner && it->second.path == full && it->second.token == token) {
      watches_.erase(it);
      return {};
    }
  }
  return tl::unexpected(ENOENT);
}

void Xenstore::unwatch(WatchId id) { watches_.erase(id); }

void Xenstore::forget_owner(std::uint64_t owner) {
  std::erase_if(watches_, [owner](const auto& w) { return w.second.owner == owner; });
  std::erase_if(transactions_, [owner](const auto& t) { return t.second.owner == owner; });
}

XsStatus Xenstore::introduce_domain(abi::domid_t domid, const std::string& name) {
  if (domid == abi::kDomain0) return tl::unexpected(EINVAL);
  const std::string home = domain_home(domid);
  if (tree_.nodes.contains(home)) (void)rm(abi::kDomain0, 0, home);
  if (auto made = mkdir(abi::kDomain0, 0, home); !made) return made;
  if (auto set = set_perms(abi::kDomain0, 0, home, XsPerms{XsPerm{domid, XsAccess::none}}); !set) {
    return set;
  }
  if (auto w = write(abi::kDomain0, 0, home + "/name", name); !w) return w;
  if (auto w = write(abi::kDomain0, 0, home + "/domid", std::to_string(domid)); !w) return w;
  fire_special(std::string(kIntroduceDomain));
  return {};
}

void Xenstore::release_domain(abi::domid_t domid) {
  if (domid == abi::kDomain0) return;
  std::erase_if(transactions_, [domid](const auto& t) { return t.second.domid == domid; });
  std::erase_if(watches_, [domid](const auto& w) { return w.second.domid == domid; });
  const std::string home = domain_home(domid);
  if (tree_.nodes.contains(home)) (void)rm(abi::kDomain0, 0, home);
  fire_special(std::string(kReleaseDomain));
}

// --- Domain-0's in-process client ----------------------------------------------

namespace {

class LocalStoreClient final : public StoreClient {
 public:
  LocalStoreClient(Xenstore& store, std::function<void(std::function<void()>)> post)
      : store_(store), post_(std::move(post)), owner_(store.new_owner()) {}
  ~LocalStoreClient() override {
    for (auto& [id, alive] : alive_)
      *alive = false;
    store_.forget_owner(owner_);
  }

  XsResult<std::string> read(std::string_view path) override {
    return store_.read(abi::kDomain0, 0, path);
  }
  XsStatus write(std::string_view path, std::string_view value) override {
    return store_.write(abi::kDomain0, 0, path, value);
  }
  XsStatus mkdir(std::string_view path) override { return store_.mkdir(abi::kDomain0, 0, path); }
  XsStatus rm(std::string_view path) override { return store_.rm(abi::kDomain0, 0, path); }
  XsResult<std::vector<std::string>> directory(std::string_view path) override {
    return store_.directory(abi::kDomain0, 0, path);
  }
  XsResult<XsPerms> get_perms(std::string_view path) override {
    return store_.get_perms(abi::kDomain0, 0, path);
  }
  XsStatus set_perms(std::string_view path, const XsPerms& perms) override {
    return store_.set_perms(abi::kDomain0, 0, path, perms);
  }
  WatchId watch(std::string_view path, WatchFn fn) override {
    auto alive = std::make_shared<bool>(true);
    auto shared_fn = std::make_shared<WatchFn>(std::move(fn));
    auto post = post_;
    const std::string token = "local-" + std::to_string(next_token_++);
    auto id = store_.watch(abi::kDomain0, owner_, path, token,
                           [alive, shared_fn, post](const std::string& p, const std::string&) {
                             post([alive, shared_fn, p] {
                               if (*alive) (*shared_fn)(p);
                             });
                           });
    if (!id) return 0;
    alive_[*id] = alive;
    return *id;
  }
  void unwatch(WatchId id) override {
    if (auto it = alive_.find(id); it != alive_.end()) {
      *it->second = false;
      alive_.erase(it);
    }
    store_.unwatch(id);
  }

 private:
  Xenstore& store_;
  std::function<void(std::function<void()>)> post_;
  std::uint64_t owner_;
  std::uint64_t next_token_ = 1;
  std::map<WatchId, std::shared_ptr<bool>> alive_;
};

}  // namespace

std::unique_ptr<StoreClient> make_store_client(Xenstore& store,
                                               std::function<void(std::function<void()>)> post) {
  return std::make_unique<LocalStoreClient>(store, std::move(post));
}

}  // namespace shype::devices
