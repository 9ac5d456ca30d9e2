// guest_disk: exercises its block devices through blkfront
// (shype/guest/blkfront.hpp). The cmdline picks what it does with the first
// disk (or `devid=<n>`):
//   mode=pattern   writes a pattern derived from the domain name over
//                  `sectors` sectors from `start`, reads it back, compares:
//                  "disk xvda: wrote N sectors, read back OK" or
//                  "disk xvda: MISMATCH at sector S"
//   mode=read      reads `sectors` sectors and prints their FNV-1a 64 sum:
//                  "disk xvda: checksum <hex> over N sectors"
//   mode=readonly  on an "r" disk: a write must be refused by the frontend
//                  and (sent anyway, raw) by the backend; a read must work:
//                  "disk xvda: read-only enforced (frontend -30, backend error)"
//   mode=bench     sequential 1 MiB writes and reads (`mib` MiB, async,
//                  zero-copy, ring kept full) and `ops` 4 KiB random reads:
//                  "bench seq_write bytes=B ns=T", "bench seq_read ...",
//                  "bench rand_read ops=N ns=T"
//   mode=loop      reads the first and last page every 100 ms (`seconds`;
//                  with write=1 it first writes and reads back the second),
//                  printing "disk xvda: loop ok" / "loop error <rc>" on
//                  change and "disk xvda: reconnected <n>" when blkfront
//                  joins a backend again
//   mode=garbage   scribbles the ring: bad operations, segment counts,
//                  sector ranges, bogus grant refs; every one must come back
//                  as an error ("disk xvda: garbage N/N refused"); then
//                  claims more requests than the ring holds ("disk xvda:
//                  ring overflow sent")
// Afterwards (then=idle, the default) it stays up: obeys shutdown requests,
// answers a backend that asks to close ("disk xvdb: detached") and runs
// mode=pattern on every disk attached later ("disk xvdb: attached, ...").
// then=exit powers off instead. Connecting prints the disk's size, or the
// backend's reason when it refused: "disk xvda: refused: <why>".
#include "kv_args.hpp"
#include "shype/guest/blkfront.hpp"
#include "shype/guest/event_channel.hpp"
#include "shype/guest/runtime.hpp"
#include "shype/guest/xenbus.hpp"

namespace guest = shype::guest;
namespace blk = shype::guest::blkfront;
namespace abi = shype::abi;
using abi::io::BlkifOp;

extern "C" void* memset(void* destination, int value, std::size_t count);
extern "C" void* memcpy(void* destination, const void* source, std::size_t count);
extern "C" int memcmp(const void* left, const void* right, std::size_t count);

namespace {

constexpr std::uint32_t kSector = abi::io::kSectorSize;
constexpr std::uint64_t kMiB = 1024 * 1024;
// Sync buffers for pattern/read: up to 4 MiB at once.
constexpr std::uint64_t kBufferBytes = 4 * kMiB;
alignas(4096) std::uint8_t g_buffer[kBufferBytes];
alignas(4096) std::uint8_t g_check[kBufferBytes];

guest::kv::Args g_args;

struct Attached {
  std::uint32_t devid;
  int handle;
};
Attached g_attached[blk::kMaxDisks];
std::uint32_t g_attached_count = 0;

// Writes `value` in decimal at `out` (NUL-terminated); returns the digits.
std::size_t put_decimal(std::uint32_t value, char* out) {
  char digits[12];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  std::size_t i = 0;
  while (n > 0)
    out[i++] = digits[--n];
  out[i] = '\0';
  return i;
}

void vdev_name(std::uint32_t devid, char* out) {
  // xvd[a-p]: 202 << 8 | disk << 4 | partition (the extended and IDE/SCSI
  // forms print as their number).
  if ((devid >> 8) == 202 && (devid & 0xf) == 0) {
    out[0] = 'x';
    out[1] = 'v';
    out[2] = 'd';
    out[3] = static_cast<char>('a' + ((devid >> 4) & 0xf));
    out[4] = '\0';
    return;
  }
  (void)put_decimal(devid, out);
}

std::uint32_t fnv1a32(const char* text) {
  std::uint32_t h = 2166136261u;
  for (; *text != '\0'; ++text) {
    h ^= static_cast<std::uint8_t>(*text);
    h *= 16777619u;
  }
  return h;
}

// The pattern byte at absolute disk byte `offset` for a domain: the test
// on the host computes the same (tests/e2e/xm_block_test.cpp).
std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t offset) {
  const std::uint32_t word = seed ^ static_cast<std::uint32_t>((offset / 4) * 2654435761u);
  return static_cast<std::uint8_t>(word >> ((offset % 4) * 8));
}

std::uint64_t fnv1a64(const std::uint8_t* data, std::uint64_t length, std::uint64_t h) {
  for (std::uint64_t i = 0; i < length; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::uint32_t number(const char* key, std::uint32_t fallback) {
  std::uint32_t value = fallback;
  if (!g_args.number(key, fallback, &value)) {
    guest::console_printf("disk: bad value for %s: %s\n", key, g_args.get(key));
    return fallback;
  }
  return value;
}

int run_pattern(int disk, const char* name) {
  const blk::DiskInfo* info = blk::info(disk);
  std::uint64_t start = number("start", 0);
  std::uint64_t sectors = number("sectors", 2048);
  if (sectors * kSector > kBufferBytes) sectors = kBufferBytes / kSector;
  if (start > info->sectors) start = info->sectors;
  if (sectors > info->sectors - start) sectors = info->sectors - start;
  const std::uint32_t seed = fnv1a32(guest::name());
  for (std::uint64_t i = 0; i < sectors * kSector; ++i)
    g_buffer[i] = pattern_byte(seed, start * kSector + i);
  if (const int rc = blk::write(disk, start, sectors, g_buffer); rc != 0) {
    guest::console_printf("disk %s: write failed: %d\n", name, rc);
    return 1;
  }
  if (const int rc = blk::flush(disk); rc != 0) {
    guest::console_printf("disk %s: flush failed: %d\n", name, rc);
    return 1;
  }
  memset(g_check, 0, sectors * kSector);
  if (const int rc = blk::read(disk, start, sectors, g_check); rc != 0) {
    guest::console_printf("disk %s: read failed: %d\n", name, rc);
    return 1;
  }
  for (std::uint64_t i = 0; i < sectors * kSector; ++i) {
    if (g_check[i] != g_buffer[i]) {
      guest::console_printf("disk %s: MISMATCH at sector %lu\n", name,
                            static_cast<unsigned long>(start + i / kSector));
      return 1;
    }
  }
  guest::console_printf("disk %s: wrote %lu sectors, read back OK\n", name,
                        static_cast<unsigned long>(sectors));
  return 0;
}

int run_read(int disk, const char* name) {
  const blk::DiskInfo* info = blk::info(disk);
  std::uint64_t sectors = number("sectors", 2048);
  if (sectors > info->sectors) sectors = info->sectors;
  std::uint64_t h = 14695981039346656037ull;
  std::uint64_t done = 0;
  while (done < sectors) {
    std::uint64_t n = sectors - done;
    if (n * kSector > kBufferBytes) n = kBufferBytes / kSector;
    if (const int rc = blk::read(disk, done, n, g_buffer); rc != 0) {
      guest::console_printf("disk %s: read failed: %d\n", name, rc);
      return 1;
    }
    h = fnv1a64(g_buffer, n * kSector, h);
    done += n;
  }
  guest::console_printf("disk %s: checksum %lx over %lu sectors\n", name,
                        static_cast<unsigned long>(h), static_cast<unsigned long>(sectors));
  return 0;
}

int run_readonly(int disk, const char* name) {
  const int frontend = blk::write(disk, 0, 1, g_buffer);
  // The same write sent raw, as a frontend that ignores `info` would.
  abi::io::BlkifRequest raw{};
  raw.operation = static_cast<std::uint8_t>(BlkifOp::write);
  raw.nr_segments = 1;
  raw.handle = static_cast<std::uint16_t>(blk::info(disk)->devid & 0xffff);
  raw.id = 7;
  raw.sector_number = 0;
  std::uint32_t errors = 0;
  // A read first: the backend maps the pool's first page.
  if (const int rc = blk::read(disk, 0, 8, blk::pool_page(disk, 0)); rc != 0) {
    guest::console_printf("disk %s: read failed: %d\n", name, rc);
    return 1;
  }
  // A real, writable grant the backend has mapped: only the disk's mode
  // can make it refuse.
  raw.seg[0].gref = blk::pool_gref(disk, 0);
  raw.seg[0].first_sect = 0;
  raw.seg[0].last_sect = 7;
  const int answered = blk::inject_raw(disk, &raw, 1, 1, 5'000'000'000, &errors);
  const bool backend_refused = answered == 1 && errors == 1;
  if (frontend == 0 || !backend_refused) {
    guest::console_printf("disk %s: write ACCEPTED on a read-only disk (frontend %d, backend %s)\n",
                          name, frontend, answered == 1 ? (errors == 1 ? "error" : "ok") : "silent");
    return 1;
  }
  guest::console_printf("disk %s: read-only enforced (frontend %d, backend error)\n", name, frontend);
  return 0;
}

int run_bench(int disk, const char* name) {
  const blk::DiskInfo* info = blk::info(disk);
  const std::uint64_t mib = number("mib", 16);
  const std::uint32_t ops = number("ops", 2000);
  const std::uint32_t pool = info->pool_pages;
  constexpr std::uint32_t kPagesPerRequest = abi::io::kBlkifMaxSegments;
  const std::uint64_t total_sectors = mib * kMiB / kSector;
  if (total_sectors > info->sectors) {
    guest::console_printf("disk %s: bench needs %lu MiB, the disk has %lu sectors\n", name,
                          static_cast<unsigned long>(mib), static_cast<unsigned long>(info->sectors));
    return 1;
  }
  for (std::uint32_t p = 0; p < pool; ++p) {
    auto* page = static_cast<std::uint8_t*>(blk::pool_page(disk, p));
    for (std::uint32_t i = 0; i < abi::kPageSize; ++i)
      page[i] = static_cast<std::uint8_t>(p + i);
  }
  const std::uint32_t slots_in_pool = pool / kPagesPerRequest;
  for (int pass = 0; pass < 2; ++pass) {
    const BlkifOp op = pass == 0 ? BlkifOp::write : BlkifOp::read;
    if (op == BlkifOp::write && info->readonly) continue;
    const std::uint64_t begin = guest::now_ns();
    std::uint64_t next = 0;
    std::uint32_t busy = 0;
    bool free_slot[64];
    for (bool& f : free_slot)
      f = true;
    blk::Completion done[32];
    while (next < total_sectors || busy > 0) {
      while (next < total_sectors) {
        std::uint32_t slot = 0;
        while (slot < slots_in_pool && slot < 64 && !free_slot[slot])
          ++slot;
        if (slot >= slots_in_pool || slot >= 64) break;
        std::uint64_t sectors = total_sectors - next;
        if (sectors > kPagesPerRequest * 8u) sectors = kPagesPerRequest * 8u;
        const auto pages = static_cast<std::uint32_t>((sectors + 7) / 8);
        const int rc = blk::submit(disk, op, next, slot * kPagesPerRequest, pages, slot);
        if (rc == -11) break;  // EAGAIN: ring full
        if (rc != 0) {
          guest::console_printf("disk %s: submit failed: %d\n", name, rc);
          return 1;
        }
        free_slot[slot] = false;
        ++busy;
        next += std::uint64_t{pages} * 8;
      }
      const int n = blk::complete(disk, done, 32, 5'000'000'000);
      if (n <= 0) {
        guest::console_printf("disk %s: bench stalled (%d)\n", name, n);
        return 1;
      }
      for (int i = 0; i < n; ++i) {
        if (done[i].status != 0) {
          guest::console_printf("disk %s: bench request failed: %d\n", name, done[i].status);
          return 1;
        }
        free_slot[done[i].tag] = true;
        --busy;
      }
    }
    if (op == BlkifOp::write) (void)blk::flush(disk);
    const std::uint64_t elapsed = guest::now_ns() - begin;
    guest::console_printf("bench %s bytes=%lu ns=%lu\n", pass == 0 ? "seq_write" : "seq_read",
                          static_cast<unsigned long>(total_sectors * kSector),
                          static_cast<unsigned long>(elapsed));
  }
  // 4 KiB random reads, one at a time: latency.
  std::uint64_t x = 88172645463325252ull;
  const std::uint64_t pages_on_disk = total_sectors / 8;
  const std::uint64_t begin = guest::now_ns();
  for (std::uint32_t i = 0; i < ops; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t page = x % pages_on_disk;
    if (const int rc = blk::read(disk, page * 8, 8, blk::pool_page(disk, 0)); rc != 0) {
      guest::console_printf("disk %s: random read failed: %d\n", name, rc);
      return 1;
    }
  }
  guest::console_printf("bench rand_read ops=%u ns=%lu\n", ops,
                        static_cast<unsigned long>(guest::now_ns() - begin));
  guest::console_printf("disk %s: bench done\n", name);
  return 0;
}

int run_garbage(int disk, const char* name) {
  const blk::DiskInfo* info = blk::info(disk);
  const auto handle = static_cast<std::uint16_t>(info->devid & 0xffff);
  abi::io::BlkifRequest raw[8]{};
  for (std::uint32_t i = 0; i < 8; ++i) {
    raw[i].id = 1000 + i;
    raw[i].handle = handle;
    raw[i].operation = static_cast<std::uint8_t>(BlkifOp::read);
    raw[i].nr_segments = 1;
    raw[i].seg[0].gref = 9999;  // never granted
    raw[i].seg[0].last_sect = 7;
  }
  raw[0].operation = 0x7f;                          // unknown operation
  raw[1].nr_segments = 0;                           // a read with no segment
  raw[2].nr_segments = 200;                         // more than the maximum
  raw[3].seg[0].first_sect = 6;                     // first > last
  raw[3].seg[0].last_sect = 2;
  raw[4].sector_number = info->sectors;             // past the end
  raw[5].sector_number = ~std::uint64_t{0} - 3;     // wraps around
  raw[6].handle = static_cast<std::uint16_t>(handle + 1);  // another device
  // raw[7]: a well-formed read into a grant that does not exist.
  std::uint32_t errors = 0;
  const int answered = blk::inject_raw(disk, raw, 8, 8, 5'000'000'000, &errors);
  guest::console_printf("disk %s: garbage %u/%d refused\n", name, errors, answered);
  // Claim far more requests than the ring holds: the backend must drop us.
  (void)blk::inject_raw(disk, raw, 0, 1000, 100'000'000, nullptr);
  guest::console_printf("disk %s: ring overflow sent\n", name);
  return answered == 8 && errors == 8 ? 0 : 1;
}

// Reads the first and the last page every 100 ms for `seconds` (default
// 60) and prints each change: "disk xvda: loop ok", "disk xvda: loop error
// <rc>" (the image vanished or shrank under the backend). With `write=1`
// each round first writes its round number over the second page and
// reads it back (a mismatch is -EIO). Each time blkfront joins a backend
// again (xend restarted, the driver domain came back) it prints
// "disk xvda: reconnected <n>".
int run_loop(int disk, const char* name) {
  const blk::DiskInfo* info = blk::info(disk);
  const std::uint64_t end = guest::now_ns() + std::uint64_t{number("seconds", 60)} * 1'000'000'000u;
  const bool write = number("write", 0) != 0;
  int last = 1;
  std::uint64_t reconnects = 0;
  for (std::uint64_t round = 1; guest::now_ns() < end; ++round) {
    int rc = 0;
    if (write && info->sectors >= 16) {
      for (std::uint32_t i = 0; i < 4096; i += 8)
        memcpy(g_check + i, &round, sizeof round);
      rc = blk::write(disk, 8, 8, g_check);
      if (rc == 0) rc = blk::read(disk, 8, 8, g_buffer);
      if (rc == 0 && memcmp(g_buffer, g_check, 4096) != 0) rc = -5;
    }
    if (rc == 0) rc = blk::read(disk, 0, 8, g_buffer);
    if (rc == 0 && info->sectors >= 8) rc = blk::read(disk, info->sectors - 8, 8, g_buffer);
    if (info->reconnects != reconnects) {
      reconnects = info->reconnects;
      guest::console_printf("disk %s: reconnected %lu\n", name,
                            static_cast<unsigned long>(reconnects));
    }
    if (rc != last) {
      if (rc == 0) {
        guest::console_printf("disk %s: loop ok\n", name);
      } else {
        guest::console_printf("disk %s: loop error %d\n", name, rc);
      }
      last = rc;
    }
    guest::sleep_ns(100'000'000);
  }
  return 0;
}

int run_mode(const char* mode, int disk, const char* name) {
  if (guest::kv::equals(mode, "loop")) return run_loop(disk, name);
  if (guest::kv::equals(mode, "pattern")) return run_pattern(disk, name);
  if (guest::kv::equals(mode, "read")) return run_read(disk, name);
  if (guest::kv::equals(mode, "readonly")) return run_readonly(disk, name);
  if (guest::kv::equals(mode, "bench")) return run_bench(disk, name);
  if (guest::kv::equals(mode, "garbage")) return run_garbage(disk, name);
  if (guest::kv::equals(mode, "none")) return 0;
  guest::console_printf("disk: unknown mode '%s'\n", mode);
  return 1;
}

// Connects `devid`, printing its size or the backend's refusal.
int attach(std::uint32_t devid, const char* name) {
  static char why[256];
  const std::uint32_t pool = number("pool", blk::kDefaultPoolPages);
  const int disk = blk::connect(devid, pool, why, sizeof why);
  if (disk < 0) {
    guest::console_printf("disk %s: refused: %s (%d)\n", name, why[0] != '\0' ? why : "no backend",
                          disk);
    return disk;
  }
  const blk::DiskInfo* info = blk::info(disk);
  guest::console_printf("disk %s: connected, %lu sectors%s\n", name,
                        static_cast<unsigned long>(info->sectors), info->readonly ? ", read-only" : "");
  if (g_attached_count < blk::kMaxDisks) g_attached[g_attached_count++] = Attached{devid, disk};
  return disk;
}

bool known(std::uint32_t devid) {
  for (std::uint32_t i = 0; i < g_attached_count; ++i) {
    if (g_attached[i].devid == devid) return true;
  }
  return false;
}

// device/vbd/<devid>/backend into `out`.
bool backend_dir(std::uint32_t devid, char* out, std::size_t capacity) {
  char path[48] = "device/vbd/";
  std::size_t len = 11;
  len += put_decimal(devid, path + len);
  const char* suffix = "/backend";
  for (std::size_t k = 0; suffix[k] != '\0'; ++k)
    path[len++] = suffix[k];
  path[len] = '\0';
  return shype::guest::xenbus::read(path, out, capacity) >= 0;
}

// Stays up: shutdown requests, detaches, hot-plugged disks.
[[noreturn]] void idle() {
  static guest::Notification n;
  for (;;) {
    (void)guest::wait_for_events(200'000'000);
    while (guest::next_notification(&n)) {
      if (guest::evtchn::handle_event_notification(&n)) continue;
      abi::ShutdownReason reason{};
      if (guest::is_shutdown_request(n, &reason)) guest::shutdown(reason);
      guest::discard_notification(&n);
    }
    abi::evtchn_port_t port = 0;
    while (guest::evtchn::next_pending(&port)) {
    }
    // A backend asking to close: let the disk go.
    for (std::uint32_t i = 0; i < g_attached_count;) {
      const blk::DiskInfo* info = blk::info(g_attached[i].handle);
      char backend[128];
      if (info == nullptr || !backend_dir(info->devid, backend, sizeof backend)) {
        ++i;
        continue;
      }
      const auto state = shype::guest::xenbus::read_state(backend);
      if (state == abi::io::XenbusState::closing || state == abi::io::XenbusState::closed ||
          state == abi::io::XenbusState::unknown) {
        char name[16];
        vdev_name(info->devid, name);
        (void)blk::disconnect(g_attached[i].handle);
        guest::console_printf("disk %s: detached\n", name);
        g_attached[i] = g_attached[--g_attached_count];
        continue;
      }
      ++i;
    }
    // New disks.
    std::uint32_t devids[blk::kMaxDisks];
    const int count = blk::discover(devids, blk::kMaxDisks);
    for (int i = 0; i < count; ++i) {
      if (known(devids[i])) continue;
      char name[16];
      vdev_name(devids[i], name);
      const int disk = attach(devids[i], name);
      if (disk < 0) {
        // Remembered so that it is not retried forever.
        if (g_attached_count < blk::kMaxDisks) g_attached[g_attached_count++] = Attached{devids[i], -1};
        continue;
      }
      guest::console_printf("disk %s: attached\n", name);
      (void)run_pattern(disk, name);
    }
  }
}

}  // namespace

int guest_main(int argc, char** argv) {
  if (argc > 1) g_args.add(argv[1]);
  const char* mode = g_args.get("mode");
  if (mode == nullptr) mode = "pattern";
  if (!guest::devices_available()) {
    guest::console_puts("disk: no devices (started without xenstore)\n");
    return 1;
  }
  std::uint32_t devids[blk::kMaxDisks];
  const int count = blk::discover(devids, blk::kMaxDisks);
  if (count < 0) {
    guest::console_printf("disk: cannot list device/vbd: %d\n", count);
    return 1;
  }
  int result = 0;
  if (count == 0) {
    guest::console_puts("disk: no disks\n");
  } else {
    std::uint32_t devid = devids[0];
    if (g_args.has("devid")) devid = number("devid", devid);
    for (int i = 0; i < count; ++i) {
      char name[16];
      vdev_name(devids[i], name);
      if (devids[i] != devid) {
        (void)attach(devids[i], name);
        continue;
      }
      const int disk = attach(devid, name);
      if (disk < 0) {
        result = 1;
        if (g_attached_count < blk::kMaxDisks) g_attached[g_attached_count++] = Attached{devid, -1};
        continue;
      }
      result = run_mode(mode, disk, name);
    }
  }
  const char* then = g_args.get("then");
  if (then != nullptr && guest::kv::equals(then, "exit")) return result;
  idle();
}
