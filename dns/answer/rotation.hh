// rotation.hh -- round-robin cursors for address RRsets, one per rotating RRset.
//
// The cursors are shared by all worker threads: a relaxed atomic increment is lock-free and makes
// rotation global (every answer starts one address further), whichever thread answers.
// Tests pin a cursor with set().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace rrdns::answer {

class RotationState {
 public:
  explicit RotationState(uint32_t slots)
      : d_cursors(std::make_unique<std::atomic<uint32_t>[]>(slots)), d_slots(slots) {}

  // The rotation offset for this answer; advances the cursor.
  uint32_t next(uint32_t slot) { return d_cursors[slot].fetch_add(1, std::memory_order_relaxed); }
  // The offset the next answer will use, without advancing (for explain).
  uint32_t peek(uint32_t slot) const { return d_cursors[slot].load(std::memory_order_relaxed); }
  void set(uint32_t slot, uint32_t value) { d_cursors[slot].store(value, std::memory_order_relaxed); }
  uint32_t slots() const { return d_slots; }

 private:
  std::unique_ptr<std::atomic<uint32_t>[]> d_cursors;
  uint32_t d_slots;
};

}  // namespace rrdns::answer
