// Event channels end to end: Domain-0 (libxenctrl) and real guests
// (guest_evtchn_echo) binding, notifying through doorbells and
// EVTCHNOP_send, closing, dying; the security policy refusing channels
// between labels that share no STE type, with its audit record; the
// argument errors; and that a doorbell of a closed binding reaches nobody.
#include <nlohmann/json.hpp>
#include <poll.h>
#include <unistd.h>

#include "acm/compact_format.hpp"
#include "acm/compiler.hpp"
#include "acm/map_file.hpp"
#include "acm/xml/policy_loader.hpp"
#include "hv_fixture.hpp"
#include "hv_mytest.hpp"

namespace shype::testing {
namespace {

const fs::path kGuestEvtchnEcho = GUEST_EVTCHN_ECHO_PATH;
constexpr auto kWait = 10s;

using Notice = xc::Connection::EventChannelNotice;

// The number after the last occurrence of `prefix` in `text`.
std::optional<unsigned long> number_after(const std::string& text, const std::string& prefix) {
  const auto at = text.rfind(prefix);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t start = at + prefix.size();
  std::size_t end = start;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9')
    ++end;
  if (end == start) return std::nullopt;
  return std::stoul(text.substr(start, end - start));
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Reads an eventfd's counter without waiting (0 if nobody rang it).
std::uint64_t drain(int eventfd) {
  std::uint64_t count = 0;
  return ::read(eventfd, &count, sizeof count) == static_cast<ssize_t>(sizeof count) ? count : 0;
}

class HvEventChannelTest : public HypervisorTest {
 protected:
  // The next event-channel notice on `connection` (other notifications
  // are skipped), waiting at most kWait.
  std::optional<Notice> next_notice(xc::Connection& connection) {
    const auto deadline = Clock::now() + kWait;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto message = connection.next_notification(left);
      if (!message) {
        ADD_FAILURE() << message.error().to_string();
        return std::nullopt;
      }
      if (!message->has_value()) return std::nullopt;
      if (auto notice = xc::Connection::event_channel_notice(**message)) return notice;
    }
    return std::nullopt;
  }

  // Waits for `prefix<number>` on the guest's console and returns the number.
  std::optional<unsigned long> console_number(abi::domid_t domid, const std::string& prefix) {
    std::optional<unsigned long> found;
    (void)eventually(
        [&] {
          found = number_after(console(domid), prefix);
          return found.has_value();
        },
        kWait);
    return found;
  }

  // An echo guest that allocated an unbound port for Domain-0, and the port.
  std::pair<abi::domid_t, abi::evtchn_port_t> listening_guest(const std::string& name) {
    const abi::domid_t guest = create(name, kGuestEvtchnEcho, "listen");
    const auto port = console_number(guest, "evtchn_echo: listening on port ");
    EXPECT_TRUE(port) << console(guest);
    return {guest, static_cast<abi::evtchn_port_t>(port.value_or(0))};
  }
};

TEST_F(HvEventChannelTest, GuestBindsDomainZeroPortAndEchoes) {
  const abi::domid_t guest = create("echo", kGuestEvtchnEcho, "wait");
  ASSERT_NE(guest, 0);
  ASSERT_TRUE(console_shows(guest, "evtchn_echo: virq console port "));

  auto port = xc().evtchn_alloc_unbound(guest);
  ASSERT_TRUE(port) << port.error().to_string();
  EXPECT_GE(*port, 1u) << "port 0 is never allocated";
  auto before = xc().evtchn_status(*port);
  ASSERT_TRUE(before) << before.error().to_string();
  EXPECT_EQ(before->status, static_cast<std::uint32_t>(abi::EvtchnState::unbound));
  EXPECT_EQ(before->remote_dom, guest);

  // The guest learns the port from its console, binds, and Domain-0 (the
  // unbound end) gets its doorbells in a bound_notice.
  ASSERT_TRUE(xc().console_write(guest, std::to_string(*port) + "\n"));
  auto notice = next_notice(xc());
  ASSERT_TRUE(notice) << console(guest);
  EXPECT_EQ(notice->kind, abi::EvtchnOp::bound_notice);
  EXPECT_EQ(notice->local_port, *port);
  EXPECT_EQ(notice->remote_dom, guest);
  ASSERT_TRUE(notice->own && notice->peer);
  const auto guest_port = console_number(guest, "evtchn_echo: bound port ");
  ASSERT_TRUE(guest_port) << console(guest);
  EXPECT_EQ(notice->remote_port, *guest_port);
  EXPECT_TRUE(
      console_shows(guest, "evtchn_echo: bound port " + std::to_string(*guest_port) + " fds 2"));
  // The console input also raised VIRQ_CONSOLE through shared_info.
  EXPECT_TRUE(console_shows(guest, "evtchn_echo: virq console\n"));

  auto bound = xc().evtchn_status(*port);
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->status, static_cast<std::uint32_t>(abi::EvtchnState::interdomain));
  EXPECT_EQ(bound->remote_dom, guest);
  EXPECT_EQ(bound->remote_port, *guest_port);
  auto guest_side = xc().evtchn_status(static_cast<abi::evtchn_port_t>(*guest_port), guest);
  ASSERT_TRUE(guest_side);
  EXPECT_EQ(guest_side->status, static_cast<std::uint32_t>(abi::EvtchnState::interdomain));
  EXPECT_EQ(guest_side->remote_dom, abi::kDomain0);
  EXPECT_EQ(guest_side->remote_port, *port);

  // Fast path: Domain-0 rings the guest's doorbell, the guest rings back.
  ASSERT_TRUE(xc::Connection::notify_doorbell(notice->peer.get()));
  EXPECT_TRUE(xc::Connection::wait_doorbell(notice->own.get(), 5000ms)) << console(guest);
  EXPECT_TRUE(
      console_shows(guest, "evtchn_echo: echo 1 port " + std::to_string(*guest_port) + " rc 0"));
  // Routed: EVTCHNOP_send rings the same doorbell through the hypervisor.
  ASSERT_TRUE(xc().evtchn_send(*port));
  EXPECT_TRUE(xc::Connection::wait_doorbell(notice->own.get(), 5000ms)) << console(guest);
  EXPECT_TRUE(console_shows(guest, "evtchn_echo: echo 2 port "));
  EXPECT_FALSE(xc::Connection::wait_doorbell(notice->own.get(), 0ms)) << "one echo per event";
}

TEST_F(HvEventChannelTest, DomainZeroBindsGuestPortThenClosesIt) {
  const auto [guest, port] = listening_guest("listener");
  ASSERT_NE(port, 0u);
  auto binding = xc().evtchn_bind_interdomain(guest, port);
  ASSERT_TRUE(binding) << binding.error().to_string();
  ASSERT_TRUE(binding->own && binding->peer);
  EXPECT_TRUE(
      console_shows(guest, "evtchn_echo: notice bound port " + std::to_string(port) + " fds 2"));

  ASSERT_TRUE(xc::Connection::notify_doorbell(binding->peer.get()));
  EXPECT_TRUE(xc::Connection::wait_doorbell(binding->own.get(), 5000ms)) << console(guest);

  // Binding it twice: it is no longer unbound.
  auto again = xc().evtchn_bind_interdomain(guest, port);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EINVAL) << again.error().to_string();

  // Close: the guest is told and drops its doorbells; its port reverts to
  // unbound for Domain-0 (Xen's evtchn_close).
  ASSERT_TRUE(xc().evtchn_close(binding->port));
  EXPECT_TRUE(
      console_shows(guest, "evtchn_echo: notice closed port " + std::to_string(port) + " fds 0"));
  auto reverted = xc().evtchn_status(port, guest);
  ASSERT_TRUE(reverted);
  EXPECT_EQ(reverted->status, static_cast<std::uint32_t>(abi::EvtchnState::unbound));
  EXPECT_EQ(reverted->remote_dom, abi::kDomain0);
  auto closed = xc().evtchn_status(binding->port);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, static_cast<std::uint32_t>(abi::EvtchnState::closed));
  auto twice = xc().evtchn_close(binding->port);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, EINVAL) << "closing a closed port";
  auto send_closed = xc().evtchn_send(binding->port);
  ASSERT_FALSE(send_closed);
  EXPECT_EQ(send_closed.error().code, EINVAL);
}

TEST_F(HvEventChannelTest, StaleDoorbellNeverReachesALaterBinding) {
  const auto listening = listening_guest("stale");
  // Named copies: lambdas below use them (clang 14 cannot capture a
  // structured binding).
  const auto guest = listening.first;
  const auto port = listening.second;
  ASSERT_NE(port, 0u);
  auto first = xc().evtchn_bind_interdomain(guest, port);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(console_shows(guest, "evtchn_echo: notice bound port " + std::to_string(port)));
  ASSERT_TRUE(xc().evtchn_close(first->port));
  ASSERT_TRUE(console_shows(guest, "evtchn_echo: notice closed port "));

  // The same guest port, bound again: fresh doorbells.
  auto second = xc().evtchn_bind_interdomain(guest, port);
  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_TRUE(eventually(
      [&] { return occurrences(console(guest), "evtchn_echo: notice bound port ") == 2; }, kWait))
      << console(guest);

  // Ring the stale doorbell first, then the live one. The guest reads
  // every doorbell it polls in the pass that sees the live one, so once it
  // echoed, a stale doorbell it still watched would have been consumed.
  ASSERT_TRUE(xc::Connection::notify_doorbell(first->peer.get()));
  ASSERT_TRUE(xc::Connection::notify_doorbell(second->peer.get()));
  EXPECT_TRUE(xc::Connection::wait_doorbell(second->own.get(), 5000ms)) << console(guest);
  ASSERT_TRUE(console_shows(guest, "evtchn_echo: echo 1 "));
  EXPECT_EQ(drain(first->peer.get()), 1u) << "nobody watches the old binding's doorbell";
  EXPECT_FALSE(xc::Connection::wait_doorbell(first->own.get(), 0ms));
  EXPECT_EQ(occurrences(console(guest), "evtchn_echo: echo "), 1u) << console(guest);
}

TEST_F(HvEventChannelTest, ArgumentErrors) {
  const auto [guest, port] = listening_guest("errors");
  ASSERT_NE(port, 0u);

  const auto code = [](const auto& result) { return result ? 0 : result.error().code; };
  EXPECT_EQ(code(xc().evtchn_close(0)), EINVAL) << "port 0 is never allocated";
  EXPECT_EQ(code(xc().evtchn_close(abi::kMaxEventChannels - 1)), EINVAL);
  EXPECT_EQ(code(xc().evtchn_close(abi::kMaxEventChannels)), EINVAL) << "out of range";
  EXPECT_EQ(code(xc().evtchn_send(5000)), EINVAL);
  EXPECT_EQ(code(xc().evtchn_status(abi::kMaxEventChannels)), EINVAL);
  EXPECT_EQ(code(xc().evtchn_status(1, 999)), ESRCH);
  EXPECT_EQ(code(xc().evtchn_alloc_unbound(999)), ESRCH);
  EXPECT_EQ(code(xc().evtchn_alloc_unbound(guest, 999)), ESRCH);
  EXPECT_EQ(code(xc().evtchn_bind_interdomain(999, 1)), ESRCH);
  EXPECT_EQ(code(xc().evtchn_bind_interdomain(guest, 0)), EINVAL);
  EXPECT_EQ(code(xc().evtchn_bind_interdomain(guest, port + 1)), EINVAL) << "not allocated";

  // A port of the guest that is unbound for someone else (Domain-0
  // allocates it in the guest, for the guest itself).
  auto for_self = xc().evtchn_alloc_unbound(guest, guest);
  ASSERT_TRUE(for_self) << for_self.error().to_string();
  EXPECT_EQ(code(xc().evtchn_bind_interdomain(guest, *for_self)), EINVAL);

  auto status0 = xc().evtchn_status(0);
  ASSERT_TRUE(status0);
  EXPECT_EQ(status0->status, static_cast<std::uint32_t>(abi::EvtchnState::closed));

  // Virqs: one port per virq; Domain-0's ring a doorbell (here through
  // EVTCHNOP_send on the virq port, a self-notification).
  auto virq = xc().evtchn_bind_virq(abi::Virq::dom_exc);
  ASSERT_TRUE(virq) << virq.error().to_string();
  EXPECT_EQ(code(xc().evtchn_bind_virq(abi::Virq::dom_exc)), EEXIST);
  auto virq_status = xc().evtchn_status(virq->port);
  ASSERT_TRUE(virq_status);
  EXPECT_EQ(virq_status->status, static_cast<std::uint32_t>(abi::EvtchnState::virq));
  EXPECT_EQ(virq_status->virq, static_cast<std::uint32_t>(abi::Virq::dom_exc));
  ASSERT_TRUE(xc().evtchn_send(virq->port));
  EXPECT_TRUE(xc::Connection::wait_doorbell(virq->doorbell.get(), 5000ms));
  // Sending on an unbound port is accepted and dropped, as in Xen.
  auto unbound = xc().evtchn_alloc_unbound(guest);
  ASSERT_TRUE(unbound);
  EXPECT_EQ(code(xc().evtchn_send(*unbound)), 0);
}

TEST_F(HvEventChannelTest, DyingDomainClosesItsPortsAndRaisesDomExc) {
  auto dom_exc = xc().evtchn_bind_virq(abi::Virq::dom_exc);
  ASSERT_TRUE(dom_exc) << dom_exc.error().to_string();
  const auto [guest, port] = listening_guest("doomed");
  ASSERT_NE(port, 0u);
  auto binding = xc().evtchn_bind_interdomain(guest, port);
  ASSERT_TRUE(binding) << binding.error().to_string();
  (void)drain(dom_exc->doorbell.get());

  // The guest shuts down by itself (asked to): its process exits and its
  // ports close; Domain-0 hears of both.
  ASSERT_TRUE(xc().request_shutdown(guest, abi::ShutdownReason::poweroff));
  auto notice = next_notice(xc());
  ASSERT_TRUE(notice) << console(guest);
  EXPECT_EQ(notice->kind, abi::EvtchnOp::closed_notice);
  EXPECT_EQ(notice->local_port, binding->port);
  EXPECT_TRUE(xc::Connection::wait_doorbell(dom_exc->doorbell.get(), 5000ms));
  auto reverted = xc().evtchn_status(binding->port);
  ASSERT_TRUE(reverted);
  EXPECT_EQ(reverted->status, static_cast<std::uint32_t>(abi::EvtchnState::unbound))
      << "the surviving end reverts to unbound, as in Xen";
  EXPECT_EQ(reverted->remote_dom, guest);
  auto gone = xc().evtchn_status(port, guest);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, static_cast<std::uint32_t>(abi::EvtchnState::closed));

  // A shut-down domain takes no new channels.
  auto refused = xc().evtchn_alloc_unbound(guest);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ESRCH);

  // Destroying it raises dom_exc again; the port left unbound for it is
  // not bindable by a later domain (even one that reuses the id).
  ASSERT_TRUE(xc().destroy_domain(guest));
  EXPECT_TRUE(xc::Connection::wait_doorbell(dom_exc->doorbell.get(), 5000ms));
  const abi::domid_t later = create("later", kGuestEvtchnEcho, std::to_string(binding->port));
  ASSERT_NE(later, 0);
  EXPECT_TRUE(console_shows(later, "evtchn_echo: bind_interdomain failed -22")) << console(later);
}

TEST_F(HvEventChannelTest, DomainZeroPortsBelongToTheirConnection) {
  const auto [guest, port] = listening_guest("shared");
  ASSERT_NE(port, 0u);
  auto opened = xc::Connection::open(root_, 10s);
  ASSERT_TRUE(opened) << opened.error().to_string();
  std::optional<xc::Connection> other(std::move(*opened));
  auto binding = other->evtchn_bind_interdomain(guest, port);
  ASSERT_TRUE(binding) << binding.error().to_string();
  ASSERT_TRUE(console_shows(guest, "evtchn_echo: notice bound port "));

  // Another connection sees it but may not close or send on it.
  auto status = xc().evtchn_status(binding->port);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, static_cast<std::uint32_t>(abi::EvtchnState::interdomain));
  auto close = xc().evtchn_close(binding->port);
  ASSERT_FALSE(close);
  EXPECT_EQ(close.error().code, EPERM) << close.error().to_string();
  auto send = xc().evtchn_send(binding->port);
  ASSERT_FALSE(send);
  EXPECT_EQ(send.error().code, EPERM);

  // Its connection closing closes it: the guest is told.
  other.reset();
  EXPECT_TRUE(
      console_shows(guest, "evtchn_echo: notice closed port " + std::to_string(port) + " fds 0"));
  auto closed = xc().evtchn_status(binding->port);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, static_cast<std::uint32_t>(abi::EvtchnState::closed));
}

// --- the security policy --------------------------------------------------------------

TEST_F(HvEventChannelTest, PolicyDeniesUnsharedLabelsAndAuditsIt) {
  auto loaded = xc().set_policy(mytest().compact);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  // AutoCorp and A-Bank share no STE type (and may run side by side).
  const abi::domid_t autocorp =
      create("autocorp", kGuestEvtchnEcho, "wait", ssidref_of("AutoCorp"));
  ASSERT_NE(autocorp, 0);
  const abi::domid_t bank =
      create("bank", kGuestEvtchnEcho, "listen " + std::to_string(autocorp), ssidref_of("A-Bank"));
  ASSERT_NE(bank, 0);
  EXPECT_TRUE(console_shows(bank, "evtchn_echo: alloc_unbound failed -13")) << console(bank);

  // Domain-0 acting for the bank is refused the same way; for itself it
  // may (SystemManagement includes both types).
  auto for_bank = xc().evtchn_alloc_unbound(autocorp, bank);
  ASSERT_FALSE(for_bank);
  EXPECT_EQ(for_bank.error().code, EACCES) << for_bank.error().to_string();
  EXPECT_NE(for_bank.error().message.find("security policy"), std::string::npos);
  EXPECT_TRUE(xc().evtchn_alloc_unbound(autocorp));
  EXPECT_TRUE(xc().evtchn_alloc_unbound(bank));

  auto audit = xc().audit_read(1);
  ASSERT_TRUE(audit) << audit.error().to_string();
  std::size_t denials = 0;
  for (const std::string& line : audit->records) {
    const auto record = nlohmann::json::parse(line);
    if (record["hook"] != "evtchn_unbound" || record["decision"] != "deny") continue;
    ++denials;
    EXPECT_EQ(record["status"], -EACCES);
    EXPECT_EQ(record["subject"]["domid"], bank) << line;
    EXPECT_EQ(record["object"]["domid"], autocorp) << line;
    EXPECT_NE(line.find("A-Bank"), std::string::npos) << line;
    EXPECT_NE(line.find("AutoCorp"), std::string::npos) << line;
  }
  EXPECT_EQ(denials, 2u) << "the guest's and Domain-0's attempts";
}

}  // namespace
}  // namespace shype::testing
