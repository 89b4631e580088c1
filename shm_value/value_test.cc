// Value, Array, RawValue, RawArray: CPython's test_value, test_rawvalue,
// test_getobj_getlock, test_array, test_array_from_size, test_rawarray,
// with the children spawned (the codec carries the shared memory); the
// locked-increment counts of the issue; owner death of the value's lock.
#include "shm_value/value.h"

#include <algorithm>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/internal/test_child.h"
#include "base/internal/test_util.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/event.h"
#include "lock/lock.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::ExitCode;
using test_util::SendThroughCodec;
using test_util::SpawnChild;

// CPython's codes_values: (typecode, first value, value the child sets).
int SetValuesChild(Decoder& args) {
  Value<int> i;
  Value<double> d;
  Value<short> h;
  Value<long long> q;
  Value<char> c;
  if (!args.Read(i, d, h, q, c).ok()) return 90;
  bool ok = i.Set(24234).ok() && d.Set(-4.25).ok() && h.Set(234).ok() &&
            q.Set(1LL << 34).ok() && c.Set('y').ok();
  return ok ? 0 : 1;
}
const ChildRegistrar kSetValues("set_values", &SetValuesChild);

void PrefixSum(absl::Span<int> seq) {
  for (size_t i = 1; i < seq.size(); ++i) seq[i] += seq[i - 1];
}

int PrefixSumChild(Decoder& args) {
  Array<int> arr;
  if (!args.Read(arr).ok()) return 90;
  return arr.Update(PrefixSum).ok() ? 0 : 1;
}
const ChildRegistrar kPrefixSum("prefix_sum", &PrefixSumChild);

int RawPrefixSumChild(Decoder& args) {
  RawArray<int> arr;
  if (!args.Read(arr).ok()) return 90;
  PrefixSum(arr.get_obj());
  return 0;
}
const ChildRegistrar kRawPrefixSum("raw_prefix_sum", &RawPrefixSumChild);

int IncrementChild(Decoder& args) {
  Value<int> v;
  int n = 0;
  if (!args.Read(v, n).ok()) return 90;
  for (int i = 0; i < n; ++i) {
    if (!v.Update([](int& x) { x += 1; }).ok()) return 91;
  }
  return 0;
}
const ChildRegistrar kIncrement("increment", &IncrementChild);

int HoldLockChild(Decoder& args) {
  Value<int> v;
  Event held;
  if (!args.Read(v, held).ok()) return 90;
  AnyLock lock = v.get_lock();
  if (!lock.Acquire().ok()) return 91;
  *v.get_obj() = -1;  // half way through an update
  if (!held.Set().ok()) return 92;
  test_util::SleepForever();
}
const ChildRegistrar kHoldLock("hold_lock", &HoldLockChild);

TEST(ValueTest, ChildSetsEveryTypecode) {
  auto i = Value<int>::Create(4343);
  auto d = Value<double>::Create(3.625);
  auto h = Value<short>::Create(-232);
  auto q = Value<long long>::Create(1LL << 33);
  auto c = Value<char>::Create('x');
  ASSERT_TRUE(i.ok() && d.ok() && h.ok() && q.ok() && c.ok());
  EXPECT_EQ(*i->Get(), 4343);
  EXPECT_EQ(*d->Get(), 3.625);
  EXPECT_EQ(*h->Get(), -232);
  EXPECT_EQ(*q->Get(), 1LL << 33);
  EXPECT_EQ(*c->Get(), 'x');
  auto child = SpawnChild("set_values", *i, *d, *h, *q, *c);
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_EQ(*i->Get(), 24234);
  EXPECT_EQ(*d->Get(), -4.25);
  EXPECT_EQ(*h->Get(), 234);
  EXPECT_EQ(*q->Get(), 1LL << 34);
  EXPECT_EQ(*c->Get(), 'y');
}

TEST(ValueTest, StructsAndDefaults) {
  struct Point {
    int x;
    double y;
  };
  auto p = Value<Point>::Create(Point{3, 4.5});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get()->x, 3);
  absl::StatusOr<Point> moved = p->Update([](Point& q) { q.y *= 2; });
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->y, 9.0);
  auto zero = Value<long long>::Create();
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero->Get(), 0);
}

TEST(ValueTest, GetObjAndGetLockAsInCPython) {
  auto v = Value<int>::Create(5);
  ASSERT_TRUE(v.ok());
  AnyLock lock = v->get_lock();
  ASSERT_TRUE(lock.valid());
  EXPECT_TRUE(lock.recursive());  // Python's default: an RLock
  {
    LockGuard guard(lock);
    *v->get_obj() += 1;
    // The accessors take the same RLock again.
    EXPECT_EQ(*v->Get(), 6);
  }
  absl::StatusOr<Lock> given = Lock::Create();
  ASSERT_TRUE(given.ok());
  auto w = Value<int>::Create(1, *given);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->get_lock().recursive());
  ASSERT_TRUE(given->Acquire().ok());
  EXPECT_TRUE(w->get_lock().held_by_me());
  ASSERT_TRUE(given->Release().ok());
  EXPECT_EQ(*w->Update([](int& x) { x *= 7; }), 7);
  Value<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.Get().status(), EmptyObjectError("Value.Get"));
  EXPECT_EQ(empty.Set(1), EmptyObjectError("Value.Set"));
  EXPECT_EQ(empty.Update([](int& x) { x += 1; }).status(),
            EmptyObjectError("Value.Update"));
  EXPECT_FALSE(empty.get_lock().valid());
  EXPECT_EQ(empty.get_obj(), nullptr);
  EXPECT_EQ(Value<int>::Create(1, AnyLock()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Taking the lock and changing the value touch one cache line, so a hand-over
// between processes on two CPUs moves one line.
TEST(ValueTest, SmallValueSharesItsOwnLocksCacheLine) {
  absl::StatusOr<Value<double>> v = Value<double>::Create(1.5);
  ASSERT_TRUE(v.ok()) << v.status();
  const uintptr_t lock =
      reinterpret_cast<uintptr_t>(&v->get_lock().handle().state()->mutex);
  const uintptr_t data = reinterpret_cast<uintptr_t>(v->get_obj());
  EXPECT_EQ(lock / 64, data / 64);
  EXPECT_EQ(lock / 64, (data + sizeof(double) - 1) / 64);
  EXPECT_EQ(data % alignof(double), 0u);
  EXPECT_EQ(*v->Get(), 1.5);
}

TEST(ValueTest, RawValueHasNoLock) {
  auto v = RawValue<double>::Create(1.5);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v->Get(), 1.5);
  EXPECT_TRUE(v->Set(-2.0).ok());
  EXPECT_EQ(*v->get_obj(), -2.0);
  RawValue<double> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.Get().status(), EmptyObjectError("RawValue.Get"));
  EXPECT_EQ(empty.Set(1.0), EmptyObjectError("RawValue.Set"));
}

TEST(ValueTest, ThreadsIncrementExactly) {
  auto v = Value<int>::Create(0);
  ASSERT_TRUE(v.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        ASSERT_TRUE(v->Update([](int& x) { ++x; }).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(*v->Get(), 20000);
}

TEST(ValueTest, HundredProcessesThousandIncrementsEach) {
  auto v = Value<int>::Create(0);
  ASSERT_TRUE(v.ok());
  std::vector<absl::StatusOr<ChildProcess>> children;
  for (int i = 0; i < 100; ++i) {
    children.push_back(SpawnChild("increment", *v, 1000));
  }
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  EXPECT_EQ(*v->Get(), 100000);
}

TEST(ValueTest, OwnerDeathNewsWaitsForTheNextExplicitAcquire) {
  auto v = Value<int>::Create(10);
  absl::StatusOr<Event> held = Event::Create();
  ASSERT_TRUE(v.ok() && held.ok());
  auto child = SpawnChild("hold_lock", *v, *held);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(held->Wait(absl::Seconds(60)).ok());
  ASSERT_TRUE(child->Kill().ok());
  // The accessors work through the dead owner's lock...
  EXPECT_EQ(*v->Get(), -1);
  EXPECT_TRUE(v->Set(-1).ok());
  // ... and leave the news for whoever takes the lock to repair the data.
  AnyLock lock = v->get_lock();
  absl::Status s = lock.Acquire(absl::Seconds(30));
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  *v->get_obj() = 10;  // repaired
  EXPECT_TRUE(lock.Release().ok());
  EXPECT_TRUE(lock.Acquire().ok());
  EXPECT_TRUE(lock.Release().ok());
  EXPECT_EQ(*v->Get(), 10);
}

TEST(ValueTest, DecodeChecksKindAndElementSize) {
  auto v = Value<int>::Create(1);
  ASSERT_TRUE(v.ok());
  Value<int> same;
  EXPECT_TRUE(SendThroughCodec(*v, &same).ok());
  EXPECT_TRUE(same.Set(42).ok());
  EXPECT_EQ(*v->Get(), 42);
  Value<double> wider;
  EXPECT_TRUE(IsDecodeError(SendThroughCodec(*v, &wider)));
  Array<int> array;
  EXPECT_TRUE(IsDecodeError(SendThroughCodec(*v, &array)));
  RawValue<int> raw;
  EXPECT_TRUE(IsDecodeError(SendThroughCodec(*v, &raw)));
}

// ---- Array ------------------------------------------------------------------

const std::vector<int> kSeq = {680, 626, 934, 821, 150,
                               233, 548, 982, 714, 831};

TEST(ArrayTest, AsInCPythonTestArray) {
  std::vector<int> seq = kSeq;
  auto arr = Array<int>::Create(seq);
  ASSERT_TRUE(arr.ok()) << arr.status();
  EXPECT_EQ(arr->size(), seq.size());
  EXPECT_EQ(*arr->Get(3), seq[3]);
  EXPECT_EQ(*arr->GetSlice(2, 7),
            std::vector<int>(seq.begin() + 2, seq.begin() + 7));
  const int four[] = {1, 2, 3, 4};
  ASSERT_TRUE(arr->SetSlice(4, four).ok());
  std::copy(four, four + 4, seq.begin() + 4);
  EXPECT_EQ(*arr->GetSlice(0, arr->size()), seq);
  PrefixSum(absl::MakeSpan(seq));
  auto child = SpawnChild("prefix_sum", *arr);
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_EQ(*arr->GetSlice(0, arr->size()), seq);
}

TEST(ArrayTest, RawArrayPrefixSumInAChild) {
  std::vector<int> seq = kSeq;
  auto arr = RawArray<int>::Create(seq);
  ASSERT_TRUE(arr.ok());
  PrefixSum(absl::MakeSpan(seq));
  auto child = SpawnChild("raw_prefix_sum", *arr);
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_EQ(std::vector<int>(arr->get_obj().begin(), arr->get_obj().end()),
            seq);
  EXPECT_EQ(*arr->Get(9), seq[9]);
  EXPECT_EQ(arr->Get(10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(arr->Set(0, 5).ok());
  EXPECT_EQ(arr->Set(10, 5).code(), absl::StatusCode::kOutOfRange);
}

TEST(ArrayTest, FromSizeIsZeroFilled) {
  auto arr = Array<double>::Create(size_t{10});
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->size(), 10u);
  EXPECT_EQ(*arr->GetSlice(0, 10), std::vector<double>(10, 0.0));
  auto none = Array<char>::Create(size_t{0});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->size(), 0u);
  EXPECT_TRUE(none->GetSlice(0, 5)->empty());
}

TEST(ArrayTest, EmptyAndMovedFromArraysRefuseWork) {
  Array<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.Get(0).status(), EmptyObjectError("Array.Get"));
  EXPECT_EQ(empty.Set(0, 1), EmptyObjectError("Array.Set"));
  EXPECT_EQ(empty.GetSlice(0, 1).status(), EmptyObjectError("Array.GetSlice"));
  EXPECT_EQ(empty.SetSlice(0, {}), EmptyObjectError("Array.SetSlice"));
  EXPECT_EQ(empty.Update([](absl::Span<int>) {}),
            EmptyObjectError("Array.Update"));
  EXPECT_TRUE(empty.get_obj().empty());
  RawArray<int> raw;
  EXPECT_FALSE(raw.valid());
  EXPECT_EQ(raw.Get(0).status(), EmptyObjectError("RawArray.Get"));
  EXPECT_EQ(raw.Set(0, 1), EmptyObjectError("RawArray.Set"));
  auto arr = Array<int>::Create({1, 2, 3});
  ASSERT_TRUE(arr.ok());
  Array<int> moved = std::move(*arr);
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_FALSE(arr->valid());
  EXPECT_EQ(arr->size(), 0u);
  EXPECT_TRUE(arr->get_obj().empty());
  EXPECT_EQ(arr->Get(0).status(), EmptyObjectError("Array.Get"));
  auto v = Value<int>::Create(4);
  ASSERT_TRUE(v.ok());
  Value<int> assigned;
  assigned = std::move(*v);
  EXPECT_EQ(*assigned.Get(), 4);
  EXPECT_FALSE(v->valid());
  EXPECT_EQ(v->Get().status(), EmptyObjectError("Value.Get"));
}

TEST(ArrayTest, IndexAndSliceBoundsAreErrorsThatWriteNothing) {
  auto arr = Array<int>::Create({1, 2, 3});
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->Get(3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(arr->Set(7, 0).code(), absl::StatusCode::kOutOfRange);
  const int two[] = {8, 9};
  EXPECT_EQ(arr->SetSlice(2, two).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(arr->SetSlice(5, two).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*arr->GetSlice(0, 3), (std::vector<int>{1, 2, 3}));
  // Slices clamp like Python's.
  EXPECT_EQ(*arr->GetSlice(1, 100), (std::vector<int>{2, 3}));
  EXPECT_TRUE(arr->GetSlice(2, 1)->empty());
  EXPECT_TRUE(arr->SetSlice(1, two).ok());
  EXPECT_EQ(*arr->GetSlice(0, 3), (std::vector<int>{1, 8, 9}));
  EXPECT_TRUE(arr->get_lock().valid());
}

TEST(ArrayTest, UsesAGivenLock) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok());
  auto arr = Array<int>::Create(size_t{4}, *lock);
  ASSERT_TRUE(arr.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(arr->get_lock().held_by_me());
  EXPECT_TRUE(arr->Set(1, 5).ok());  // the same RLock, taken again
  ASSERT_TRUE(lock->Release().ok());
  EXPECT_FALSE(lock->locked());
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
