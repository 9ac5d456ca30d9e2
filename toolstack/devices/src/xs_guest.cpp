// A guest's xenstore connection (xs_guest.hpp).
#include "xs_guest.hpp"

#include <unistd.h>

#include "shype/io/xenbus.hpp"
#include "shype/io/xs_wire.hpp"

namespace shype::devices {
namespace {
using abi::io::kXsRingSize;
using abi::io::XenstoreDomainInterface;
}  // namespace

XsGuestConnection::XsGuestConnection(DeviceLoop& loop, Xenstore& store, abi::domid_t domid,
                                     xc::Connection::EventChannelBinding port)
    : loop_(loop), store_(store), domid_(domid), port_(std::move(port)) {
  loop_.add_fd(port_.own.get(), [this] { on_doorbell(); });
}

XsGuestConnection::~XsGuestConnection() {
  *alive_ = false;
  if (port_.own) loop_.remove_fd(port_.own.get());
  session_.reset();
  page_.reset();
}

void XsGuestConnection::disconnect(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  loop_.log().warning("xenstore: domain " + std::to_string(domid_) + " disconnected: " + why);
  if (port_.own) loop_.remove_fd(port_.own.get());
  session_.reset();
  if (page_) {
    // SAFETY: the mapped store page; the guest learns it was dropped.
    auto* iface = static_cast<XenstoreDomainInterface*>(page_->data());
    __atomic_store_n(&iface->connection, 1u, __ATOMIC_RELEASE);
    (void)xc::Connection::notify_doorbell(port_.peer.get());
  }
  page_.reset();
  out_.clear();
}

void XsGuestConnection::on_doorbell() {
  std::uint64_t counter = 0;
  (void)!::read(port_.own.get(), &counter, sizeof counter);
  if (dead_) return;
  if (!page_) {
    auto mapped = MappedPage::map(loop_.hv(), domid_, abi::io::kGrantRefXenstore, false);
    if (!mapped) {
      loop_.log().warning("xenstore: cannot map the store page (grant " +
                          std::to_string(abi::io::kGrantRefXenstore) + ") of domain " +
                          std::to_string(domid_) + ": " + mapped.error().to_string());
      return;
    }
    page_ = std::move(*mapped);
    // SAFETY: one mapped page holding the interface.
    auto* iface = static_cast<XenstoreDomainInterface*>(page_->data());
    req_cons_ = __atomic_load_n(&iface->req_cons, __ATOMIC_ACQUIRE);
    rsp_prod_ = __atomic_load_n(&iface->rsp_prod, __ATOMIC_ACQUIRE);
    session_ = std::make_unique<XsSession>(store_, domid_,
                                           [this](std::string bytes) { send(std::move(bytes)); });
  }
  service();
}

void XsGuestConnection::send(std::string bytes) {
  if (dead_) return;
  out_ += bytes;
  if (out_.size() > kMaxQueuedBytes) {
    // Deferred: the session that called us must finish first.
        loop_.defer([this, alive = alive_] {
      if (*alive) disconnect("it does not read its replies and events");
    });
    return;
  }
  if (!in_service_ && !service_scheduled_) {
    service_scheduled_ = true;
        loop_.defer([this, alive = alive_] {
      if (!*alive) return;
      service_scheduled_ = false;
      service();
    });
  }
}

bool XsGuestConnection::flush() {
  // SAFETY: one mapped page holding the interface; indices the guest wrote
  // are checked before use.
  auto* iface = static_cast<XenstoreDomainInterface*>(page_->data());
  const std::uint32_t cons = __atomic_load_n(&iface->rsp_cons, __ATOMIC_ACQUIRE);
  const std::uint32_t used = rsp_prod_ - cons;
  if (used > kXsRingSize) {
    disconnect("its reply ring consumer index moved by more than the ring size");
    return false;
  }
  const std::size_t n = std::min<std::size_t>(kXsRingSize - used, out_.size());
  for (std::size_t i = 0; i < n; ++i)
    iface->rsp[(rsp_prod_ + i) % kXsRingSize] = out_[i];
  if (n > 0) {
    rsp_prod_ += static_cast<std::uint32_t>(n);
    __atomic_store_n(&iface->rsp_prod, rsp_prod_, __ATOMIC_RELEASE);
    out_.erase(0, n);
  }
  return true;
}

void XsGuestConnection::service() {
  if (dead_ || !page_) return;
  in_service_ = true;
  // SAFETY: as in flush().
  auto* iface = static_cast<XenstoreDomainInterface*>(page_->data());
  bool progress = false;
  int budget = kRequestsPerTurn;
  bool more = false;
  const std::uint32_t rsp_before = rsp_prod_;
  if (!flush()) return;
  while (!dead_) {
    if (out_.size() > kBackpressureBytes) break;  // let the guest read first
    if (budget == 0) {
      more = true;
      break;
    }
    if (auto message = decoder_.next()) {
      --budget;
      session_->handle(*message);
      if (dead_) break;
      if (!flush()) return;
      continue;
    }
    const std::uint32_t prod = __atomic_load_n(&iface->req_prod, __ATOMIC_ACQUIRE);
    const std::uint32_t avail = prod - req_cons_;
    if (avail == 0) break;
    if (avail > kXsRingSize) {
      in_service_ = false;
      disconnect("its request ring producer index moved by more than the ring size");
      return;
    }
    char bytes[kXsRingSize];
    for (std::uint32_t i = 0; i < avail; ++i)
      bytes[i] = iface->req[(req_cons_ + i) % kXsRingSize];
    const std::size_t taken = decoder_.feed(std::string_view(bytes, avail));
    if (decoder_.broken()) {
      in_service_ = false;
      disconnect("it sent a message longer than " + std::to_string(abi::io::kXsPayloadMax) +
                 " bytes");
      return;
    }
    req_cons_ += static_cast<std::uint32_t>(taken);
    __atomic_store_n(&iface->req_cons, req_cons_, __ATOMIC_RELEASE);
    progress = true;
  }
  in_service_ = false;
  if (dead_) return;
  if (!flush()) return;
  if (progress || rsp_prod_ != rsp_before) (void)xc::Connection::notify_doorbell(port_.peer.get());
  if (more && !service_scheduled_) {
    service_scheduled_ = true;
        loop_.defer([this, alive = alive_] {
      if (!*alive) return;
      service_scheduled_ = false;
      service();
    });
  }
}

}  // namespace shype::devices
