// Split devices' xenstore directories (device_dirs.hpp).
#include "device_dirs.hpp"

#include <cstring>
#include <thread>
#include <variant>

namespace shype::devices {

using abi::io::XenbusState;

std::string frontend_dir(std::string_view kind, abi::domid_t front, std::uint32_t devid) {
  return domain_home(front) + "/device/" + std::string(kind) + "/" + std::to_string(devid);
}

std::string backend_dir(std::string_view kind, abi::domid_t back, abi::domid_t front,
                        std::uint32_t devid) {
  return domain_home(back) + "/backend/" + std::string(kind) + "/" + std::to_string(front) + "/" +
         std::to_string(devid);
}

std::uint32_t read_state(StoreClient& store, const std::string& dir) {
  auto text = store.read(dir + "/state");
  if (!text) return 0;
  return parse_number<std::uint32_t>(*text).value_or(0);
}

std::int64_t read_number(StoreClient& store, const std::string& path) {
  auto text = store.read(path);
  if (!text) return -1;
  return parse_number<std::int64_t>(*text).value_or(-1);
}

std::string state_text(XenbusState state) {
  return std::to_string(static_cast<std::uint32_t>(state));
}

acm::Error store_error(const std::string& what, int code) {
  return acm::make_error(acm::Errc::io_error, what + ": " + std::strerror(code)).value();
}

namespace {

XsStatus write_dir(StoreClient& store, const std::string& dir, const XsPerms& perms,
                   const DeviceNodes& nodes) {
  if (auto made = store.mkdir(dir); !made) return made;
  if (auto set = store.set_perms(dir, perms); !set) return set;
  for (const auto& [node, value] : nodes) {
    if (auto w = store.write(dir + "/" + node, value); !w) return w;
    if (auto set = store.set_perms(dir + "/" + node, perms); !set) return set;
  }
  return {};
}

}  // namespace

Status write_device_dirs(StoreClient& store, abi::domid_t front, const std::string& fe,
                         const DeviceNodes& fe_nodes, abi::domid_t back, const std::string& be,
                         const DeviceNodes& be_nodes) {
  auto undo = [&] {
    (void)store.rm(fe);
    (void)store.rm(be);
  };
  const XsPerms fe_perms = {{front, XsAccess::none}, {back, XsAccess::read}};
  const XsPerms be_perms = {{back, XsAccess::none}, {front, XsAccess::read}};
  if (auto done = write_dir(store, fe, fe_perms, fe_nodes); !done) {
    undo();
    return tl::unexpected(store_error("writing " + fe, done.error()));
  }
  if (auto done = write_dir(store, be, be_perms, be_nodes); !done) {
    undo();
    return tl::unexpected(store_error("writing " + be, done.error()));
  }
  return {};
}

Status detach_device(DeviceHostImpl& host, hv::Log& log, const std::string& what,
                     const std::string& fe, XenbusState first_active,
                     const std::string& missing, const std::string& late,
                     std::chrono::milliseconds wait) {
  // Ask the frontend to close; note the backend directory.
  auto backend = host.call<std::string>(what, [&host, fe, first_active,
                                               missing]() -> Result<std::string> {
    StoreClient& store = host.loop().store();
    auto be = store.read(fe + "/backend");
    if (!be) return acm::make_error(acm::Errc::not_found, missing);
    const std::uint32_t front_state = read_state(store, fe);
    const bool frontend_active = front_state >= static_cast<std::uint32_t>(first_active) &&
                                 front_state <= static_cast<std::uint32_t>(XenbusState::connected);
    if (frontend_active) {
      (void)store.write(*be + "/state", state_text(XenbusState::closing));
      return *be;
    }
    return std::string();  // nothing to wait for
  });
  if (!backend) return tl::unexpected(backend.error());
  if (!backend->empty()) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto closed = host.call<bool>(what, [&host, fe]() -> Result<bool> {
        StoreClient& store = host.loop().store();
        if (!store.read(fe + "/state")) return true;
        return read_state(store, fe) == static_cast<std::uint32_t>(XenbusState::closed);
      });
      if (!closed) return tl::unexpected(closed.error());
      if (*closed) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        log.warning(late);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }
  return host
      .call<std::monostate>(what,
                            [&host, fe]() -> Result<std::monostate> {
                              StoreClient& store = host.loop().store();
                              const auto be_now = store.read(fe + "/backend");
                              (void)store.rm(fe);
                              if (be_now) (void)store.rm(*be_now);
                              return std::monostate{};
                            })
      .map([](std::monostate) {});
}

}  // namespace shype::devices
