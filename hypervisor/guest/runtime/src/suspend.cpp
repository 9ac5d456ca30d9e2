// Suspend and resume (runtime.hpp): whether this start resumes a saved
// domain, and state blocks in guest memory.
#include "internal.hpp"
#include "shype/guest/runtime.hpp"

namespace shype::guest {
namespace {

constexpr std::uint64_t kStateMagic = 0x5441545350594853ull;  // "SHYPSTAT"

// Precedes every state block; `check` ties the fields together so that
// stale bytes that happen to hold the magic are not taken for a header.
struct StateHeader {
  std::uint64_t magic;
  std::uint64_t tag;
  std::uint64_t size;
  std::uint64_t check;
};
static_assert(sizeof(StateHeader) == 32);

constexpr std::uint64_t check_of(std::uint64_t tag, std::uint64_t size) {
  return ~(tag ^ (size * 0x9e3779b97f4a7c15ull) ^ kStateMagic);
}

}  // namespace

std::uint32_t resume_count() {
  const abi::SharedInfo* info = shared_info();
  return info == nullptr ? 0 : __atomic_load_n(&info->resume_count, __ATOMIC_ACQUIRE);
}

bool resumed() {
  return resume_count() != 0;
}

void suspend() {
  // Everything the kernel stored is in guest memory; make sure it is
  // written before the hypervisor may read it.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  shutdown(abi::ShutdownReason::suspend);
}

void* state_block(std::uint64_t tag, std::size_t size, std::uint64_t frame, bool* restored) {
  *restored = false;
  const std::uint64_t frames = frame_count();
  if (frame >= frames) return nullptr;
  const std::uint64_t room = (frames - frame) * abi::kPageSize;
  if (size > room - sizeof(StateHeader)) return nullptr;
  // SAFETY: frame < frame_count() and header + size bytes fit in guest
  // memory from there (checked above); the address is page aligned.
  auto* header = static_cast<StateHeader*>(frame_address(frame));
  auto* data = reinterpret_cast<std::uint8_t*>(header + 1);
  if (resumed() && __atomic_load_n(&header->magic, __ATOMIC_ACQUIRE) == kStateMagic &&
      header->tag == tag && header->size == size && header->check == check_of(tag, size)) {
    *restored = true;
    return data;
  }
  __atomic_store_n(&header->magic, 0, __ATOMIC_RELEASE);
  memset(data, 0, size);
  header->tag = tag;
  header->size = size;
  header->check = check_of(tag, size);
  __atomic_store_n(&header->magic, kStateMagic, __ATOMIC_RELEASE);
  return data;
}

}  // namespace shype::guest
