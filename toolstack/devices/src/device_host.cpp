// The device host (device_host.hpp): introducing and releasing domains,
// their console and xenstore connections.
#include "device_host_impl.hpp"
#include "device_dirs.hpp"

namespace shype::devices {

Result<std::unique_ptr<DeviceHost>> DeviceHost::start(const std::filesystem::path& root,
                                                      hv::Log& log) {
  auto loop = DeviceLoopImpl::start(root, log);
  if (!loop) return tl::unexpected(loop.error());
  return std::unique_ptr<DeviceHost>(new DeviceHostImpl(root, log, std::move(*loop)));
}

DeviceHostImpl::DeviceHostImpl(std::filesystem::path root, hv::Log& log,
                               std::unique_ptr<DeviceLoopImpl> loop)
    : root_(std::move(root)), log_(log), loop_(std::move(loop)) {
  (void)loop_->run(
      [this] {
        blkback_ = make_blkback(*loop_);
        netback_ = make_netback(*loop_);
      },
      kDeviceCallTimeout);
}

DeviceHostImpl::~DeviceHostImpl() {
  // Everything that holds mappings or ports goes on the device thread,
  // before its connection closes.
  loop_->stop([this] {
    std::vector<abi::domid_t> ids;
    for (const auto& [domid, d] : domains_) ids.push_back(domid);
    for (const auto domid : ids) release_on_thread(domid);
    blkback_.reset();
    netback_.reset();
  });
}

std::filesystem::path DeviceHostImpl::console_socket(abi::domid_t domid) const {
  return root_ / "run/xend/console" / (std::to_string(domid) + ".sock");
}

std::filesystem::path DeviceHostImpl::console_log(const std::string& name) const {
  return root_ / "var/log/xen/console" / ("guest-" + name + ".log");
}

Status DeviceHostImpl::introduce_domain(abi::domid_t domid, const std::string& name) {
  return call<std::monostate>("introducing domain " + std::to_string(domid),
                              [this, domid, name]() -> Result<std::monostate> {
                                auto done = introduce_on_thread(domid, name, std::nullopt);
                                if (!done) return tl::unexpected(done.error());
                                return std::monostate{};
                              })
      .map([](std::monostate) {});
}

std::optional<GuestPorts> DeviceHostImpl::guest_ports(abi::domid_t domid) {
  auto ports = call<std::optional<GuestPorts>>(
      "looking up the ports of domain " + std::to_string(domid),
      [this, domid]() -> Result<std::optional<GuestPorts>> {
        const auto it = domains_.find(domid);
        if (it == domains_.end()) return std::optional<GuestPorts>{};
        return GuestPorts{it->second.guest_console_port, it->second.guest_store_port};
      });
  return ports ? *ports : std::nullopt;
}

Status DeviceHostImpl::adopt_domain(abi::domid_t domid, const std::string& name,
                                    GuestPorts ports) {
  return call<std::monostate>("adopting domain " + std::to_string(domid),
                              [this, domid, name, ports]() -> Result<std::monostate> {
                                auto done = introduce_on_thread(domid, name, ports);
                                if (!done) return tl::unexpected(done.error());
                                return std::monostate{};
                              })
      .map([](std::monostate) {});
}

Status DeviceHostImpl::introduce_on_thread(abi::domid_t domid, const std::string& name,
                                           std::optional<GuestPorts> adopted) {
  if (domid == abi::kDomain0) {
    return acm::make_error(acm::Errc::invalid_argument, "Domain-0 cannot be introduced");
  }
  release_on_thread(domid);  // a stale entry of an earlier domain with this id
  xc::Connection& hv = loop_->hv();
  const std::string who = "domain " + name + " (" + std::to_string(domid) + ")";
  auto fail = [&](const std::string& step, const xc::Error& e) -> Status {
    return acm::make_error(acm::Errc::io_error, who + ": " + step + ": " + e.to_string());
  };
  GuestDomain d;
  d.name = name;
  if (adopted) {
    d.guest_console_port = adopted->console;
    d.guest_store_port = adopted->store;
  } else {
    auto console_port = hv.evtchn_alloc_unbound(abi::kDomain0, domid);
    if (!console_port) return fail("allocating its console event channel", console_port.error());
    auto store_port = hv.evtchn_alloc_unbound(abi::kDomain0, domid);
    if (!store_port) return fail("allocating its xenstore event channel", store_port.error());
    d.guest_console_port = *console_port;
    d.guest_store_port = *store_port;
  }
  auto console = hv.evtchn_bind_interdomain(domid, d.guest_console_port);
  if (!console) return fail("binding its console event channel", console.error());
  auto store = hv.evtchn_bind_interdomain(domid, d.guest_store_port);
  if (!store) {
    (void)hv.evtchn_close(console->port);
    return fail("binding its xenstore event channel", store.error());
  }
  const abi::evtchn_port_t local_console = console->port;
  const abi::evtchn_port_t local_store = store->port;
  // Our own doorbells: rung below for an adopted domain, whose rings may
  // hold output and requests already.
  const int console_bell = console->own.get();
  const int store_bell = store->own.get();
  auto close_ports = [&] {
    (void)hv.evtchn_close(local_console);
    (void)hv.evtchn_close(local_store);
  };
  if (!adopted) {
    if (auto told = hv.set_start_info(domid, d.guest_console_port, d.guest_store_port); !told) {
      close_ports();
      return fail("telling it its ports (set_start_info)", told.error());
    }
  }
  if (auto home = loop_->xenstore().introduce_domain(domid, name); !home) {
    close_ports();
    return acm::make_error(acm::Errc::io_error, who + ": cannot create its xenstore home: " +
                                                    errno_name(home.error()));
  }
  auto backend = ConsoleBackend::create(*loop_, domid, console_log(name), console_socket(domid),
                                        std::move(*console));
  if (!backend) {
    close_ports();
    loop_->xenstore().release_domain(domid);
    return acm::make_error(acm::Errc::io_error, who + ": " + backend.error().message);
  }
  d.console = std::move(*backend);
  d.store = std::make_unique<XsGuestConnection>(*loop_, loop_->xenstore(), domid, std::move(*store));
  // The guest's end closing (it died or closed the port) ends the backends.
  loop_->on_port_notice(local_console, [this, domid](xc::Connection::EventChannelNotice& n) {
    if (n.kind != abi::EvtchnOp::closed_notice) return;
    if (auto it = domains_.find(domid); it != domains_.end() && it->second.console) {
      it->second.console->disconnect("the guest closed its console channel");
    }
  });
  loop_->on_port_notice(local_store, [this, domid](xc::Connection::EventChannelNotice& n) {
    if (n.kind != abi::EvtchnOp::closed_notice) return;
    if (auto it = domains_.find(domid); it != domains_.end() && it->second.store) {
      it->second.store->disconnect("the guest closed its xenstore channel");
    }
  });
  domains_[domid] = std::move(d);
  if (adopted) {
    // Map the pages and take what waits in the rings now, not at the
    // guest's next notification.
    (void)xc::Connection::notify_doorbell(console_bell);
    (void)xc::Connection::notify_doorbell(store_bell);
  }
  log_.info(std::string("devices: ") + (adopted ? "adopted " : "introduced ") + who +
            ": console port " + std::to_string(local_console) + ", xenstore port " +
            std::to_string(local_store));
  return {};
}

void DeviceHostImpl::release_domain(abi::domid_t domid) {
  (void)loop_->run([this, domid] { release_on_thread(domid); }, kDeviceCallTimeout);
}

void DeviceHostImpl::release_on_thread(abi::domid_t domid) {
  if (blkback_) blkback_->release_frontend(domid);
  if (netback_) netback_->release_frontend(domid);
  const auto it = domains_.find(domid);
  if (it != domains_.end()) {
    GuestDomain& d = it->second;
    xc::Connection& hv = loop_->hv();
    if (d.console) {
      loop_->forget_port(d.console->port());
      (void)hv.evtchn_close(d.console->port());
    }
    if (d.store) {
      loop_->forget_port(d.store->port());
      (void)hv.evtchn_close(d.store->port());
    }
    d.store.reset();
    d.console.reset();
    log_.info("devices: released domain " + d.name + " (" + std::to_string(domid) + ")");
    domains_.erase(it);
  }
  StoreClient& store = loop_->store();
  // Devices it served as a driver domain: their backend directories go with
  // its home; Closed first, so the clients waiting on the backend's state
  // see it close rather than vanish.
  for (const char* cls : {"vbd", "vif"}) {
    const std::string root = domain_home(domid) + "/backend/" + cls;
    auto fronts = store.directory(root);
    if (!fronts) continue;
    for (const auto& front : *fronts) {
      auto devids = store.directory(root + "/" + front);
      if (!devids) continue;
      for (const auto& devid : *devids) {
        (void)store.write(root + "/" + front + "/" + devid + "/state",
                          state_text(abi::io::XenbusState::closed));
      }
    }
  }
  loop_->xenstore().release_domain(domid);
  // Backend directories Domain-0 kept for it.
  for (const char* cls : {"vbd", "vif"}) {
    const std::string dir =
        domain_home(abi::kDomain0) + "/backend/" + cls + "/" + std::to_string(domid);
    (void)store.rm(dir);
  }
}

}  // namespace shype::devices

namespace shype::devices {
namespace {

tl::unexpected<acm::Error> store_error(const std::string& what, const std::string& path,
                                       int error) {
  return acm::make_error(acm::Errc::io_error,
                         "xenstore " + what + " '" + path + "': " + errno_name(error));
}

std::string perms_text(const XsPerms& perms) {
  std::string text;
  for (const auto& p : perms) text += (text.empty() ? "" : " ") + format_perm(p);
  return text;
}

}  // namespace

Result<std::vector<DeviceHost::XenstoreEntry>> DeviceHostImpl::xenstore_list(
    const std::string& path, std::size_t limit) {
  return call<std::vector<XenstoreEntry>>(
      "listing xenstore", [this, path, limit]() -> Result<std::vector<XenstoreEntry>> {
        Xenstore& store = loop_->xenstore();
        auto root = store.canonical(abi::kDomain0, path);
        if (!root) return store_error("list", path, root.error());
        std::vector<XenstoreEntry> entries;
        std::vector<std::string> pending{*root};  // depth first, in name order
        while (!pending.empty() && entries.size() < limit) {
          const std::string at = std::move(pending.back());
          pending.pop_back();
          auto value = store.read(abi::kDomain0, 0, at);
          auto perms = store.get_perms(abi::kDomain0, 0, at);
          auto children = store.directory(abi::kDomain0, 0, at);
          // Domain-0 may read every node and nothing runs between these
          // calls on the device thread: only the first path can be missing.
          if (!value) return store_error("list", at, value.error());
          if (!perms) return store_error("list", at, perms.error());
          if (!children) return store_error("list", at, children.error());
          entries.push_back(XenstoreEntry{at, *value, perms_text(*perms)});
          for (auto it = children->rbegin(); it != children->rend(); ++it) {
            pending.push_back(at == "/" ? "/" + *it : at + "/" + *it);
          }
        }
        return entries;
      });
}

Result<std::string> DeviceHostImpl::xenstore_read(const std::string& path) {
  return call<std::string>("reading xenstore", [this, path]() -> Result<std::string> {
    auto value = loop_->store().read(path);
    if (!value) return store_error("read", path, value.error());
    return *value;
  });
}

Status DeviceHostImpl::xenstore_write(const std::string& path, const std::string& value) {
  return call<std::monostate>("writing xenstore",
                              [this, path, value]() -> Result<std::monostate> {
                                auto done = loop_->store().write(path, value);
                                if (!done) {
                                  return store_error("write", path, done.error());
                                }
                                return std::monostate{};
                              })
      .map([](std::monostate) {});
}

Status DeviceHostImpl::xenstore_chmod(const std::string& path,
                                      const std::vector<std::string>& perms) {
  XsPerms parsed;
  for (const std::string& text : perms) {
    auto perm = parse_perm(text);
    if (!perm) {
      return acm::make_error(acm::Errc::invalid_argument,
                             "xenstore chmod '" + path + "': bad permission '" + text +
                                 "' (n, r, w or b and a domain id, e.g. r3)");
    }
    parsed.push_back(*perm);
  }
  if (parsed.empty()) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "xenstore chmod '" + path + "': no permission given");
  }
  return call<std::monostate>("setting xenstore permissions",
                              [this, path, parsed]() -> Result<std::monostate> {
                                auto done = loop_->store().set_perms(path, parsed);
                                if (!done) return store_error("chmod", path, done.error());
                                return std::monostate{};
                              })
      .map([](std::monostate) {});
}

}  // namespace shype::devices
