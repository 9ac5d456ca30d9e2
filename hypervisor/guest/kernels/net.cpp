// guest_net: a minimal network stack (Ethernet, ARP, IPv4, ICMP echo) on
// netfront, the sample kernel of the network device (docs/devices-net.md).
//
// Cmdline: space-separated key=value words.
//   ip=<a.b.c.d>       this domain's address (required)
//   ping=<a.b.c.d>     ping it: `count` echo requests, one a second (or
//                      every `interval` ms), each answer printed as
//                        64 bytes from 10.0.0.2: icmp_seq=1 time=0.412 ms
//                      then the summary
//                        3 packets transmitted, 3 received, 0% packet loss
//                      and power off (or keep serving with linger=1).
//   count=<n>          echo requests (default 3)
//   interval=<ms>      between requests (default 1000)
//   wait=<s>           how long to wait for an answer (default 1) and for
//                      the peer's address (ARP, default 3 tries of `wait`)
//   without ping=      answer ARP and echo requests until shut down
//   bench=rtt          with ping=: as many echo round trips as fit in
//                      `seconds` (default 3), no pause between them:
//                        net: bench rtt <n> round trips in <us> us
//   bench=stream       with ping=: `count` (default 20000) frames of
//                      `size` bytes (default 1514) to the peer as fast as
//                      the ring takes them, then asks the peer how many
//                      arrived:
//                        net: bench stream sent <n> frames of <size> bytes in <us> us, peer received <m>
//   flood=<n>          before anything else, put n batches of garbage tx
//                      requests (bad sizes, offsets, grant refs) in the ring:
//                        net: flood <n> requests, <e> errors
// When the vif's backend goes away (its driver domain died, xend
// restarted) it prints "net: vif waiting for its backend" and keeps going;
// once netfront rejoined a backend, "net: vif reconnected <n>". A vif the
// backend closes (xm network-detach): "net: vif closed by the backend".
// Every line the tests read starts at the beginning of a console line.
// Errors: "net: <what> failed: <-errno>", then the domain crashes.
#include "kv_args.hpp"
#include "shype/guest/netfront.hpp"
#include "shype/guest/runtime.hpp"

namespace {

using namespace shype;
namespace nf = guest::netfront;

constexpr std::uint64_t kMilli = 1'000'000u;
constexpr std::uint64_t kSecond = 1'000'000'000u;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherStream = 0x88b5;  // IEEE local experimental: bench frames
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint32_t kPingPayload = 56;      // ping's default: 64 bytes of ICMP
constexpr std::uint16_t kPingIdent = 0x5348;    // "SH"
constexpr std::uint16_t kBenchIdent = 0x4245;   // "BE"

guest::kv::Args g_args;
int g_vif = -1;
std::uint8_t g_mac[6];
std::uint32_t g_ip = 0;

// ---- Bytes -------------------------------------------------------------------

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(get16(p)) << 16) | get16(p + 2);
}
// "00:16:3e:0a:0b:0c" into a static buffer.
const char* mac_text(const std::uint8_t* mac) {
  static char text[18];
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 6; ++i) {
    text[i * 3] = kHex[mac[i] >> 4];
    text[i * 3 + 1] = kHex[mac[i] & 0x0fu];
    text[i * 3 + 2] = i < 5 ? ':' : '\0';
  }
  return text;
}

// The Internet checksum (RFC 1071).
std::uint16_t checksum(const std::uint8_t* p, std::size_t length) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < length; i += 2)
    sum += get16(p + i);
  if ((length & 1u) != 0) sum += static_cast<std::uint32_t>(p[length - 1]) << 8;
  while ((sum >> 16) != 0)
    sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

bool parse_ip(const char* text, std::uint32_t* out) {
  if (text == nullptr) return false;
  std::uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    std::uint32_t octet = 0;
    int digits = 0;
    while (*text >= '0' && *text <= '9') {
      octet = octet * 10 + static_cast<std::uint32_t>(*text - '0');
      ++text;
      if (++digits > 3 || octet > 255) return false;
    }
    if (digits == 0) return false;
    value = (value << 8) | octet;
    if (part < 3 && *text++ != '.') return false;
  }
  if (*text != '\0') return false;
  *out = value;
  return true;
}

// "a.b.c.d" into a static buffer (one at a time).
const char* ip_text(std::uint32_t ip) {
  static char text[16];
  std::size_t n = 0;
  for (int part = 3; part >= 0; --part) {
    const std::uint32_t octet = (ip >> (8 * part)) & 0xffu;
    if (octet >= 100) text[n++] = static_cast<char>('0' + octet / 100);
    if (octet >= 10) text[n++] = static_cast<char>('0' + octet / 10 % 10);
    text[n++] = static_cast<char>('0' + octet % 10);
    if (part > 0) text[n++] = '.';
  }
  text[n] = '\0';
  return text;
}

// ---- ARP cache -----------------------------------------------------------------

struct ArpEntry {
  std::uint32_t ip;
  std::uint8_t mac[6];
};
constexpr std::uint32_t kArpEntries = 8;
ArpEntry g_arp[kArpEntries];
std::uint32_t g_arp_next = 0;

const std::uint8_t* arp_lookup(std::uint32_t ip) {
  for (const auto& e : g_arp)
    if (e.ip == ip && ip != 0) return e.mac;
  return nullptr;
}
void arp_learn(std::uint32_t ip, const std::uint8_t* mac) {
  for (auto& e : g_arp) {
    if (e.ip == ip) {
      __builtin_memcpy(e.mac, mac, 6);
      return;
    }
  }
  g_arp[g_arp_next].ip = ip;
  __builtin_memcpy(g_arp[g_arp_next].mac, mac, 6);
  g_arp_next = (g_arp_next + 1) % kArpEntries;
}

// ---- Sending -------------------------------------------------------------------

alignas(8) std::uint8_t g_out[abi::io::kNetifMaxFrame];
alignas(8) std::uint8_t g_in[abi::io::kNetifMaxFrame];

void fail(const char* what, long rc) {
  guest::console_printf("net: %s failed: %ld\n", what, rc);
  guest::shutdown(abi::ShutdownReason::crash);
}

// The backend closed the vif (xm network-detach): let it go, then wait
// for a shutdown request.
[[noreturn]] void closed_by_backend() {
  guest::console_puts("net: vif closed by the backend\n");
  (void)nf::disconnect(g_vif);
  for (;;) {
    static guest::Notification notification;
    (void)guest::wait_for_events(-1);
    while (guest::next_notification(&notification)) {
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(notification, &reason)) {
        guest::console_printf("net: shutting down (reason %u)\n", static_cast<unsigned>(reason));
        guest::shutdown(reason);
      }
      guest::discard_notification(&notification);
    }
  }
}

// A call failed with -ENOTCONN. A vif the backend closed (xm
// network-detach) is let go; one that only lost its backend (its driver
// domain died, xend restarted) is waited for by the next call, which
// rejoins a backend that comes back: "net: vif waiting for its backend",
// then "net: vif reconnected <n>".
bool g_waiting = false;
std::uint64_t g_reconnects = 0;

void backend_gone() {
  const nf::VifInfo* info = nf::info(g_vif);
  if (info == nullptr || !info->lost) closed_by_backend();
  if (!g_waiting) guest::console_puts("net: vif waiting for its backend\n");
  g_waiting = true;
}

// After a call that worked: says so once the vif rejoined a backend.
void note_reconnects() {
  const nf::VifInfo* info = nf::info(g_vif);
  if (info == nullptr || info->reconnects == g_reconnects) return;
  g_reconnects = info->reconnects;
  g_waiting = false;
  guest::console_printf("net: vif reconnected %lu\n", static_cast<unsigned long>(g_reconnects));
}

void ethernet(std::uint8_t* frame, const std::uint8_t* to, std::uint16_t type) {
  __builtin_memcpy(frame, to, 6);
  __builtin_memcpy(frame + 6, g_mac, 6);
  put16(frame + 12, type);
}

void send_frame(std::size_t length) {
  const int rc = nf::send(g_vif, g_out, length, static_cast<std::int64_t>(kSecond));
  if (rc == -107) {
    backend_gone();  // the frame is lost, as on any network
    return;
  }
  if (rc != 0) fail("send", rc);
  note_reconnects();
}

void send_arp(std::uint16_t op, const std::uint8_t* to_mac, std::uint32_t to_ip) {
  static const std::uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const std::uint8_t kZero[6] = {};
  __builtin_memset(g_out, 0, 60);
  ethernet(g_out, op == 1 ? kBroadcast : to_mac, kEtherArp);
  std::uint8_t* arp = g_out + 14;
  put16(arp, 1);            // Ethernet
  put16(arp + 2, kEtherIpv4);
  arp[4] = 6;
  arp[5] = 4;
  put16(arp + 6, op);       // 1 request, 2 reply
  __builtin_memcpy(arp + 8, g_mac, 6);
  put32(arp + 14, g_ip);
  __builtin_memcpy(arp + 18, op == 1 ? kZero : to_mac, 6);
  put32(arp + 24, to_ip);
  send_frame(60);
}

// An ICMP message of `icmp_length` bytes already at g_out + 34, to `ip`.
void send_ipv4_icmp(const std::uint8_t* to_mac, std::uint32_t to_ip, std::size_t icmp_length) {
  ethernet(g_out, to_mac, kEtherIpv4);
  std::uint8_t* ip = g_out + 14;
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, static_cast<std::uint16_t>(20 + icmp_length));
  put16(ip + 4, 0);
  put16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = kProtoIcmp;
  put16(ip + 10, 0);
  put32(ip + 12, g_ip);
  put32(ip + 16, to_ip);
  put16(ip + 10, checksum(ip, 20));
  std::uint8_t* icmp = g_out + 34;
  put16(icmp + 2, 0);
  put16(icmp + 2, checksum(icmp, icmp_length));
  send_frame(34 + icmp_length);
}

void send_echo_request(const std::uint8_t* to_mac, std::uint32_t to_ip, std::uint16_t ident,
                       std::uint16_t seq, std::uint64_t stamp) {
  std::uint8_t* icmp = g_out + 34;
  icmp[0] = 8;
  icmp[1] = 0;
  put16(icmp + 4, ident);
  put16(icmp + 6, seq);
  put32(icmp + 8, static_cast<std::uint32_t>(stamp >> 32));
  put32(icmp + 12, static_cast<std::uint32_t>(stamp));
  for (std::uint32_t i = 8; i < kPingPayload; ++i)
    icmp[8 + i] = static_cast<std::uint8_t>(i);
  send_ipv4_icmp(to_mac, to_ip, 8 + kPingPayload);
}

// ---- Receiving -----------------------------------------------------------------

struct EchoReply {
  std::uint32_t from;
  std::uint16_t ident;
  std::uint16_t seq;
  std::uint64_t stamp;
  std::uint32_t bytes;  // ICMP bytes
};

// Stream bench: frames counted, and the answer the sender waits for.
std::uint64_t g_stream_frames = 0;
std::uint64_t g_stream_reply = 0;
bool g_stream_reply_seen = false;

// Handles one frame: answers ARP and echo requests, learns addresses.
// Returns true (and fills *reply) for an echo reply to us.
bool handle_frame(const std::uint8_t* f, std::size_t length, EchoReply* reply) {
  if (length < 14) return false;
  const std::uint16_t type = get16(f + 12);
  if (type == kEtherStream && length >= 14 + 9) {
    const std::uint8_t kind = f[14];
    if (kind == 0) {
      ++g_stream_frames;
    } else if (kind == 1) {  // "how many did you get?"
      __builtin_memset(g_out, 0, 60);
      ethernet(g_out, f + 6, kEtherStream);
      g_out[14] = 2;
      put32(g_out + 15, static_cast<std::uint32_t>(g_stream_frames >> 32));
      put32(g_out + 19, static_cast<std::uint32_t>(g_stream_frames));
      guest::console_printf("net: stream received %lu frames\n",
                            static_cast<unsigned long>(g_stream_frames));
      g_stream_frames = 0;
      send_frame(60);
    } else if (kind == 2) {
      g_stream_reply = (static_cast<std::uint64_t>(get32(f + 15)) << 32) | get32(f + 19);
      g_stream_reply_seen = true;
    }
    return false;
  }
  if (type == kEtherArp && length >= 14 + 28) {
    const std::uint8_t* arp = f + 14;
    if (get16(arp) != 1 || get16(arp + 2) != kEtherIpv4 || arp[4] != 6 || arp[5] != 4)
      return false;
    const std::uint16_t op = get16(arp + 6);
    const std::uint32_t sender_ip = get32(arp + 14);
    const std::uint32_t target_ip = get32(arp + 24);
    if (sender_ip != 0) arp_learn(sender_ip, arp + 8);
    if (op == 1 && target_ip == g_ip) send_arp(2, arp + 8, sender_ip);
    return false;
  }
  if (type != kEtherIpv4 || length < 34) return false;
  const std::uint8_t* ip = f + 14;
  const std::uint32_t header = (ip[0] & 0x0fu) * 4u;
  if ((ip[0] >> 4) != 4 || header < 20 || length < 14 + header) return false;
  const std::uint32_t total = get16(ip + 2);
  if (total < header || 14 + total > length) return false;
  if (checksum(ip, header) != 0) return false;
  if (get32(ip + 16) != g_ip || ip[9] != kProtoIcmp) return false;
  const std::uint32_t from = get32(ip + 12);
  const std::uint8_t* icmp = ip + header;
  const std::size_t icmp_length = total - header;
  if (icmp_length < 8 || checksum(icmp, icmp_length) != 0) return false;
  arp_learn(from, f + 6);
  if (icmp[0] == 8 && icmp_length <= sizeof g_out - 34) {  // echo request: answer it
    __builtin_memcpy(g_out + 34, icmp, icmp_length);
    g_out[34] = 0;
    send_ipv4_icmp(f + 6, from, icmp_length);
    return false;
  }
  if (icmp[0] == 0 && icmp_length >= 16) {
    reply->from = from;
    reply->ident = get16(icmp + 4);
    reply->seq = get16(icmp + 6);
    reply->stamp = (static_cast<std::uint64_t>(get32(icmp + 8)) << 32) | get32(icmp + 12);
    reply->bytes = static_cast<std::uint32_t>(icmp_length);
    return true;
  }
  return false;
}

// Serves frames until `deadline` (now_ns) or an echo reply arrives.
bool poll_until(std::uint64_t deadline, EchoReply* reply) {
  for (;;) {
    const std::uint64_t now = guest::now_ns();
    if (now >= deadline) return false;
    const std::int64_t n = nf::receive(g_vif, g_in, sizeof g_in,
                                       static_cast<std::int64_t>(deadline - now));
    if (n == -110) return false;  // ETIMEDOUT
    if (n == -107) {
      backend_gone();
      continue;
    }
    if (n < 0) fail("receive", n);
    note_reconnects();
    if (handle_frame(g_in, static_cast<std::size_t>(n), reply)) return true;
  }
}

const std::uint8_t* resolve(std::uint32_t ip, std::uint64_t wait_ns, int attempts = 3) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (const std::uint8_t* mac = arp_lookup(ip)) return mac;
    send_arp(1, nullptr, ip);
    const std::uint64_t deadline = guest::now_ns() + wait_ns;
    EchoReply ignored{};
    while (guest::now_ns() < deadline && arp_lookup(ip) == nullptr)
      (void)poll_until(deadline < guest::now_ns() + 50 * kMilli ? deadline
                                                                : guest::now_ns() + 50 * kMilli,
                       &ignored);
  }
  return arp_lookup(ip);
}

// "0.412" for 412 us.
void print_ms(std::uint64_t ns) {
  const std::uint64_t us = ns / 1000;
  const unsigned long whole = static_cast<unsigned long>(us / 1000);
  const unsigned frac = static_cast<unsigned>(us % 1000);
  char digits[4] = {static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                    static_cast<char>('0' + frac % 10), '\0'};
  guest::console_printf("%lu.%s", whole, digits);
}

// ---- Modes -----------------------------------------------------------------------

int ping(std::uint32_t target, std::uint32_t count, std::uint64_t interval_ns,
         std::uint64_t wait_ns) {
  guest::console_printf("PING %s", ip_text(target));
  guest::console_printf(" from %s: %u data bytes\n", ip_text(g_ip), kPingPayload);
  const std::uint8_t* mac = resolve(target, wait_ns);
  std::uint32_t received = 0;
  for (std::uint32_t seq = 1; seq <= count; ++seq) {
    const std::uint64_t start = guest::now_ns();
    if (mac == nullptr) mac = resolve(target, wait_ns, 1);
    if (mac == nullptr) {
      guest::console_printf("From %s icmp_seq=%u Destination Host Unreachable\n", ip_text(g_ip),
                            seq);
    } else {
      send_echo_request(mac, target, kPingIdent, static_cast<std::uint16_t>(seq), start);
      const std::uint64_t deadline = start + wait_ns;
      EchoReply reply{};
      bool answered = false;
      while (poll_until(deadline, &reply)) {
        if (reply.from == target && reply.ident == kPingIdent && reply.seq == seq) {
          answered = true;
          break;
        }
      }
      if (answered) {
        ++received;
        guest::console_printf("%u bytes from %s: icmp_seq=%u time=", reply.bytes,
                              ip_text(reply.from), seq);
        print_ms(guest::now_ns() - reply.stamp);
        guest::console_puts(" ms\n");
      } else {
        guest::console_printf("Request timeout for icmp_seq %u\n", seq);
      }
    }
    if (seq < count) {
      const std::uint64_t next = start + interval_ns;
      EchoReply ignored{};
      while (guest::now_ns() < next) (void)poll_until(next, &ignored);
    }
  }
  guest::console_printf("--- %s ping statistics ---\n", ip_text(target));
  const std::uint32_t loss = count == 0 ? 0 : (count - received) * 100 / count;
  guest::console_printf("%u packets transmitted, %u received, %u%% packet loss\n", count, received,
                        loss);
  return received == count ? 0 : 1;
}

int bench_rtt(std::uint32_t target, std::uint64_t seconds, std::uint64_t wait_ns) {
  const std::uint8_t* mac = resolve(target, wait_ns);
  if (mac == nullptr) {
    guest::console_printf("net: bench rtt: %s does not answer ARP\n", ip_text(target));
    return 1;
  }
  const std::uint64_t start = guest::now_ns();
  const std::uint64_t end = start + seconds * kSecond;
  std::uint64_t trips = 0;
  std::uint64_t now = start;
  while (now < end) {
    const auto seq = static_cast<std::uint16_t>(trips + 1);
    send_echo_request(mac, target, kBenchIdent, seq, now);
    EchoReply reply{};
    bool answered = false;
    while (poll_until(now + wait_ns, &reply)) {
      if (reply.ident == kBenchIdent && reply.seq == seq) {
        answered = true;
        break;
      }
    }
    if (!answered) {
      guest::console_printf("net: bench rtt: no answer to round trip %lu\n",
                            static_cast<unsigned long>(trips + 1));
      return 1;
    }
    ++trips;
    now = guest::now_ns();
  }
  guest::console_printf("net: bench rtt %lu round trips in %lu us\n",
                        static_cast<unsigned long>(trips),
                        static_cast<unsigned long>((now - start) / 1000));
  return 0;
}

int bench_stream(std::uint32_t target, std::uint32_t count, std::uint32_t size,
                 std::uint64_t wait_ns) {
  const std::uint8_t* mac = resolve(target, wait_ns);
  if (mac == nullptr) {
    guest::console_printf("net: bench stream: %s does not answer ARP\n", ip_text(target));
    return 1;
  }
  std::uint8_t peer[6];
  __builtin_memcpy(peer, mac, 6);
  if (size < 60) size = 60;
  if (size > abi::io::kNetifMaxFrame) size = abi::io::kNetifMaxFrame;
  const std::uint64_t start = guest::now_ns();
  for (std::uint32_t i = 0; i < count; ++i) {
    ethernet(g_out, peer, kEtherStream);
    g_out[14] = 0;
    put32(g_out + 15, i);
    send_frame(size);
    // Answer whatever arrives meanwhile (ARP) without waiting.
    EchoReply ignored{};
    const std::int64_t n = nf::receive(g_vif, g_in, sizeof g_in, 0);
    if (n > 0) (void)handle_frame(g_in, static_cast<std::size_t>(n), &ignored);
  }
  const std::uint64_t sent_at = guest::now_ns();
  // Ask how many arrived (retrying: the question can be dropped too).
  g_stream_reply_seen = false;
  for (int attempt = 0; attempt < 5 && !g_stream_reply_seen; ++attempt) {
    __builtin_memset(g_out, 0, 60);
    ethernet(g_out, peer, kEtherStream);
    g_out[14] = 1;
    send_frame(60);
    const std::uint64_t deadline = guest::now_ns() + wait_ns;
    EchoReply ignored{};
    while (!g_stream_reply_seen && guest::now_ns() < deadline)
      (void)poll_until(guest::now_ns() + 50 * kMilli < deadline ? guest::now_ns() + 50 * kMilli
                                                                : deadline,
                       &ignored);
  }
  if (!g_stream_reply_seen) {
    guest::console_puts("net: bench stream: the peer did not report\n");
    return 1;
  }
  guest::console_printf("net: bench stream sent %u frames of %u bytes in %lu us, peer received %lu\n",
                        count, size, static_cast<unsigned long>((sent_at - start) / 1000),
                        static_cast<unsigned long>(g_stream_reply));
  return 0;
}

void flood(std::uint32_t batches) {
  // Garbage of every kind netback must refuse: short, long, past the page,
  // flags, grant refs that are not ours.
  static abi::io::NetifTxRequest garbage[64];
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  for (std::uint32_t b = 0; b < batches; ++b) {
    for (std::uint32_t i = 0; i < 64; ++i) {
      const std::uint32_t x = b * 64 + i;
      garbage[i].gref = (x % 3 == 0) ? 0xfffffff0u - x : 100000u + x;
      garbage[i].offset = static_cast<std::uint16_t>((x * 97u) % 5000u);
      garbage[i].flags = static_cast<std::uint16_t>(x % 5 == 0 ? 0x80 : 0);
      garbage[i].id = 0;
      garbage[i].size = static_cast<std::uint16_t>((x * 131u) % 3000u);
    }
    std::uint32_t seen_errors = 0;
    const int answered = nf::inject_raw_tx(g_vif, garbage, 64,
                                           static_cast<std::int64_t>(kSecond), &seen_errors);
    if (answered < 0) fail("inject", answered);
    sent += 64;
    errors += seen_errors;
  }
  guest::console_printf("net: flood %lu requests, %lu errors\n", static_cast<unsigned long>(sent),
                        static_cast<unsigned long>(errors));
}

[[noreturn]] void serve_forever() {
  guest::console_printf("net: serving %s\n", ip_text(g_ip));
  for (;;) {
    const std::int64_t n = nf::receive(g_vif, g_in, sizeof g_in, -1);
    if (n == -110) continue;
    if (n == -107) {
      backend_gone();
      continue;
    }
    if (n < 0) fail("receive", n);
    note_reconnects();
    EchoReply ignored{};
    (void)handle_frame(g_in, static_cast<std::size_t>(n), &ignored);
  }
}

void obey_shutdown(guest::Notification* notification) {
  abi::ShutdownReason reason{};
  if (guest::is_shutdown_request(*notification, &reason)) {
    guest::console_printf("net: shutting down (reason %u)\n", static_cast<unsigned>(reason));
    guest::shutdown(reason);
  }
  guest::discard_notification(notification);
}

}  // namespace

int guest_main(int argc, char** argv) {
  g_args.add(argc > 1 && argv[1] != nullptr ? argv[1] : "");
  if (!parse_ip(g_args.get("ip"), &g_ip)) {
    guest::console_puts("net: ip=<a.b.c.d> is required\n");
    return 1;
  }
  std::uint32_t count = 3;
  std::uint32_t interval_ms = 1000;
  std::uint32_t wait_s = 1;
  std::uint32_t seconds = 3;
  std::uint32_t size = abi::io::kNetifMaxFrame;
  std::uint32_t flood_batches = 0;
  const bool stream = g_args.has("bench") && guest::kv::equals(g_args.get("bench"), "stream");
  if (!g_args.number("count", stream ? 20000 : 3, &count) ||
      !g_args.number("interval", 1000, &interval_ms) || !g_args.number("wait", 1, &wait_s) ||
      !g_args.number("seconds", 3, &seconds) || !g_args.number("size", size, &size) ||
      !g_args.number("flood", 0, &flood_batches)) {
    guest::console_puts("net: a numeric argument is malformed\n");
    return 1;
  }
  nf::set_notification_handler(obey_shutdown);

  std::uint32_t devids[4];
  const int found = nf::discover(devids, 4);
  if (found <= 0) {
    guest::console_printf("net: no vif (%d)\n", found);
    return 1;
  }
  g_vif = nf::connect(devids[0]);
  if (g_vif < 0) fail("connect", g_vif);
  const nf::VifInfo* vif = nf::info(g_vif);
  __builtin_memcpy(g_mac, vif->mac, 6);
  guest::console_printf("net: vif %u up, mac %s", vif->devid, mac_text(g_mac));
  guest::console_printf(", ip %s\n", ip_text(g_ip));

  if (flood_batches > 0) flood(flood_batches);

  std::uint32_t target = 0;
  if (!g_args.has("ping")) serve_forever();
  if (!parse_ip(g_args.get("ping"), &target)) {
    guest::console_printf("net: bad ping address %s\n", g_args.get("ping"));
    return 1;
  }
  int rc = 0;
  const std::uint64_t wait_ns = wait_s * kSecond;
  if (!g_args.has("bench")) {
    rc = ping(target, count, interval_ms * kMilli, wait_ns);
  } else if (guest::kv::equals(g_args.get("bench"), "rtt")) {
    rc = bench_rtt(target, seconds, wait_ns);
  } else if (stream) {
    rc = bench_stream(target, count, size, wait_ns);
  } else {
    guest::console_printf("net: unknown bench %s\n", g_args.get("bench"));
    return 1;
  }
  if (g_args.has("linger")) serve_forever();
  // Close the vif cleanly so the backend unmaps before the domain goes.
  (void)nf::disconnect(g_vif);
  (void)rc;
  return 0;
}
