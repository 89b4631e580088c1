// Queue, SimpleQueue and JoinableQueue within one process (threads); the
// cross-process tests are in queue_process_test.cc and queue_crash_test.cc.
#include "queue/queue.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using ::testing::HasSubstr;

// Slack for "returns after at least the timeout": the clocks agree, but the
// check is done on absl::Now, a different clock from the deadline's.
constexpr absl::Duration kSlack = absl::Milliseconds(2);

template <typename Q>
Q Make(int64_t maxsize = 0) {
  auto q = Q::Create(maxsize);
  EXPECT_TRUE(q.ok()) << q.status();
  return *std::move(q);
}

// CPython: test_queue (put/get, Full and Empty, the timeouts).
TEST(QueueTest, FullAfterSixPuts) {
  auto q = Make<Queue<int>>(6);
  EXPECT_EQ(q.maxsize(), 6);
  EXPECT_TRUE(q.Empty());
  EXPECT_FALSE(q.Full());
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(q.Full());
    ASSERT_TRUE(q.Put(i).ok());
  }
  EXPECT_TRUE(q.Full());
  EXPECT_FALSE(q.Empty());
  EXPECT_EQ(q.Qsize(), 6);

  absl::Status s = q.PutNowait(7);
  EXPECT_TRUE(IsFull(s)) << s;
  EXPECT_TRUE(IsFull(q.Put(7, absl::ZeroDuration())));

  const absl::Duration timeout = absl::Milliseconds(100);
  absl::Time start = absl::Now();
  s = q.Put(7, timeout);
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(IsFull(s)) << s;
  EXPECT_GE(took, timeout - kSlack);
  EXPECT_EQ(q.Qsize(), 6);
}

TEST(QueueTest, GetsInOrderThenEmpty) {
  auto q = Make<Queue<int>>(6);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(q.Put(i).ok());
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<int> v = i % 2 ? q.Get() : q.GetNowait();
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, i);
  }
  EXPECT_TRUE(q.Empty());
  EXPECT_TRUE(IsEmpty(q.GetNowait().status()));
  EXPECT_TRUE(IsEmpty(q.Get(absl::ZeroDuration()).status()));

  const absl::Duration timeout = absl::Milliseconds(100);
  absl::Time start = absl::Now();
  absl::StatusOr<int> v = q.Get(timeout);
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(IsEmpty(v.status())) << v.status();
  EXPECT_GE(took, timeout - kSlack);
  EXPECT_LT(took, timeout + absl::Seconds(5));
}

TEST(QueueTest, QsizeCountsExactly) {
  auto q = Make<Queue<std::string>>();
  EXPECT_EQ(q.Qsize(), 0);
  ASSERT_TRUE(q.Put("a").ok());
  EXPECT_EQ(q.Qsize(), 1);
  ASSERT_TRUE(q.Put("b").ok());
  EXPECT_EQ(q.Qsize(), 2);
  ASSERT_TRUE(q.Get().ok());
  EXPECT_EQ(q.Qsize(), 1);
  ASSERT_TRUE(q.Get().ok());
  EXPECT_EQ(q.Qsize(), 0);
  EXPECT_TRUE(q.Empty());
}

TEST(QueueTest, UnboundedQueueIsNeverFull) {
  for (int64_t maxsize : {0, -1, -100}) {
    auto q = Make<Queue<int>>(maxsize);
    EXPECT_EQ(q.maxsize(), 0);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(q.PutNowait(i).ok());
    EXPECT_FALSE(q.Full());
  }
}

// Far more than the first segment holds, with no consumer: an unbounded
// Put never blocks, and the queue gives everything back in order.
TEST(QueueTest, UnboundedQueueGrows) {
  auto q = Make<Queue<std::array<char, 64>>>();
  constexpr int kItems = 200000;
  std::array<char, 64> item{};
  for (int i = 0; i < kItems; ++i) {
    std::memcpy(item.data(), &i, sizeof i);
    ASSERT_TRUE(q.PutNowait(item).ok()) << i;
  }
  EXPECT_EQ(q.Qsize(), kItems);
  for (int i = 0; i < kItems; ++i) {
    absl::StatusOr<std::array<char, 64>> v = q.GetNowait();
    ASSERT_TRUE(v.ok()) << v.status();
    int got;
    std::memcpy(&got, v->data(), sizeof got);
    ASSERT_EQ(got, i);
  }
  EXPECT_TRUE(q.Empty());
  // The segments are reused: the same again.
  for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.PutNowait(item).ok());
  for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.GetNowait().ok());
}

// 64 bytes and 64 MiB in one queue, interleaved, with no fixed slot size.
TEST(QueueTest, ItemsOfAnySize) {
  auto q = Make<Queue<std::string>>();
  const std::vector<size_t> sizes = {
      0,  1,       64,       4096, 65536,         65537, 1 << 20,
      64, 3 << 20, 64 << 20, 100,  (1 << 20) + 3, 64};
  auto content = [](size_t size, size_t salt) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i) {
      s[i] = static_cast<char>((i * 131 + salt) & 0xff);
    }
    return s;
  };
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(q.Put(content(sizes[i], i)).ok()) << sizes[i];
  }
  EXPECT_EQ(q.Qsize(), static_cast<int64_t>(sizes.size()));
  for (size_t i = 0; i < sizes.size(); ++i) {
    absl::StatusOr<std::string> v = q.Get();
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_EQ(v->size(), sizes[i]);
    EXPECT_TRUE(*v == content(sizes[i], i)) << "item " << i;
  }
  EXPECT_TRUE(q.Empty());
}

TEST(QueueTest, ComplexItems) {
  using Item = std::map<std::string, std::vector<std::pair<int, double>>>;
  auto q = Make<Queue<Item>>();
  Item a = {{"x", {{1, 2.5}}}, {"y", {}}};
  Item b;
  ASSERT_TRUE(q.Put(a).ok());
  ASSERT_TRUE(q.Put(b).ok());
  EXPECT_EQ(*q.Get(), a);
  EXPECT_EQ(*q.Get(), b);
}

// An item the codec refuses fails in the caller's Put, and nothing is
// queued (Python would lose it in the feeder thread).
struct Refused {
  bool refuse = false;
  friend void MpEncode(Encoder& e, const Refused& r) {
    if (r.refuse) {
      e.Fail(absl::InvalidArgumentError("this one cannot travel"));
      return;
    }
    e.Write(uint8_t{7});
  }
  friend absl::Status MpDecode(Decoder& d, Refused& r) {
    uint8_t b;
    return d.Read(b);
  }
};

TEST(QueueTest, UnencodableItemFailsInPut) {
  auto q = Make<Queue<Refused>>();
  absl::Status s = q.Put(Refused{true});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("cannot be encoded"));
  EXPECT_THAT(s.message(), HasSubstr("this one cannot travel"));
  EXPECT_EQ(q.Qsize(), 0);
  ASSERT_TRUE(q.Put(Refused{false}).ok());
  EXPECT_EQ(q.Qsize(), 1);
}

TEST(QueueTest, ClosedQueueRefusesPutAndGet) {
  auto q = Make<Queue<int>>();
  ASSERT_TRUE(q.Put(1).ok());
  Queue<int> copy = q;
  ASSERT_TRUE(q.Close().ok());
  ASSERT_TRUE(q.Close().ok());  // twice is fine, as in Python
  absl::Status s = q.Put(2);
  EXPECT_TRUE(IsClosed(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("closed"));
  EXPECT_TRUE(IsClosed(q.Get().status()));
  EXPECT_TRUE(IsClosed(q.GetNowait().status()));
  EXPECT_TRUE(IsClosed(copy.Put(3)));  // the whole process
}

TEST(QueueTest, DefaultConstructedQueueFails) {
  Queue<int> q;
  EXPECT_EQ(q.Put(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Get().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Qsize(), 0);
  EXPECT_TRUE(q.Empty());
  EXPECT_FALSE(q.Full());
  EXPECT_FALSE(Encode(q, nullptr).ok());
  std::vector<NativeHandle> handles;
  EXPECT_FALSE(Encode(q, &handles).ok());
}

TEST(QueueTest, BlockingGetIsWokenByPut) {
  auto q = Make<Queue<std::string>>();
  absl::Notification waiting;
  std::thread consumer([&] {
    waiting.Notify();
    absl::StatusOr<std::string> v = q.Get();
    EXPECT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, "wake up");
  });
  waiting.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(20));  // stands for the producer's work
  ASSERT_TRUE(q.Put("wake up").ok());
  consumer.join();
}

TEST(QueueTest, BlockingPutIsWokenByGet) {
  auto q = Make<Queue<int>>(1);
  ASSERT_TRUE(q.Put(1).ok());
  absl::Notification waiting;
  std::thread producer([&] {
    waiting.Notify();
    EXPECT_TRUE(q.Put(2).ok());
  });
  waiting.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(20));  // stands for the consumer's work
  EXPECT_EQ(*q.Get(), 1);
  EXPECT_EQ(*q.Get(), 2);
  producer.join();
}

// Threads of one process share the queue like processes do: every item
// arrives exactly once, and each producer's items in order.
TEST(QueueTest, ManyThreadsEachItemOnce) {
  constexpr int kProducers = 4, kConsumers = 4, kPerProducer = 20000;
  for (int64_t maxsize : {0, 16}) {
    auto q = Make<Queue<std::pair<int, int>>>(maxsize);
    std::vector<std::vector<int>> seen(kProducers);
    std::vector<std::vector<std::vector<int>>> got(
        kConsumers, std::vector<std::vector<int>>(kProducers));
    std::vector<std::thread> threads;
    for (int c = 0; c < kConsumers; ++c) {
      threads.emplace_back([&, c] {
        for (;;) {
          absl::StatusOr<std::pair<int, int>> v = q.Get();
          ASSERT_TRUE(v.ok()) << v.status();
          if (v->first < 0) return;
          got[c][v->first].push_back(v->second);
        }
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          ASSERT_TRUE(q.Put({p, i}).ok());
        }
      });
    }
    for (auto& t : producers) t.join();
    for (int c = 0; c < kConsumers; ++c) ASSERT_TRUE(q.Put({-1, 0}).ok());
    for (auto& t : threads) t.join();
    for (int p = 0; p < kProducers; ++p) {
      std::vector<int> all;
      for (int c = 0; c < kConsumers; ++c) {
        EXPECT_TRUE(std::is_sorted(got[c][p].begin(), got[c][p].end()));
        all.insert(all.end(), got[c][p].begin(), got[c][p].end());
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), static_cast<size_t>(kPerProducer));
      for (int i = 0; i < kPerProducer; ++i) ASSERT_EQ(all[i], i);
    }
    EXPECT_TRUE(q.Empty());
  }
}

// Consumers racing for items of every size: small ones are copied out
// speculatively and claimed by compare-and-swap, big ones (64 KiB and more)
// under a lock; either way each arrives exactly once and intact.
TEST(QueueTest, ConsumersRaceForItemsOfEverySize) {
  constexpr int kItems = 600, kConsumers = 4;
  auto q = Make<Queue<std::string>>();
  auto item = [](int i) {
    const size_t size = i % 7 == 0 ? (64 << 10) + i * 997 % 300000
                                   : static_cast<size_t>(8 + i % 200);
    std::string s(size, static_cast<char>('a' + i % 26));
    std::memcpy(&s[0], &i, std::min(sizeof i, size));
    return s;
  };
  std::vector<std::vector<int>> got(kConsumers);
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&, c] {
      for (;;) {
        absl::StatusOr<std::string> v = q.Get();
        ASSERT_TRUE(v.ok()) << v.status();
        if (v->empty()) return;
        int i;
        std::memcpy(&i, v->data(), sizeof i);
        ASSERT_TRUE(*v == item(i)) << i;
        got[c].push_back(i);
      }
    });
  }
  for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.Put(item(i)).ok());
  for (int c = 0; c < kConsumers; ++c) ASSERT_TRUE(q.Put("").ok());
  for (auto& t : consumers) t.join();
  std::vector<int> all;
  for (int c = 0; c < kConsumers; ++c) {
    EXPECT_TRUE(std::is_sorted(got[c].begin(), got[c].end()));
    all.insert(all.end(), got[c].begin(), got[c].end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(all[i], i);
}

TEST(SimpleQueueTest, PutGetEmptyClose) {
  absl::StatusOr<SimpleQueue<std::string>> q =
      SimpleQueue<std::string>::Create();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->Empty());
  ASSERT_TRUE(q->Put("a").ok());
  ASSERT_TRUE(q->Put(std::string(100000, 'b')).ok());
  EXPECT_FALSE(q->Empty());
  EXPECT_EQ(*q->Get(), "a");
  EXPECT_EQ(q->Get()->size(), 100000u);
  EXPECT_TRUE(q->Empty());
  ASSERT_TRUE(q->Close().ok());
  EXPECT_TRUE(IsClosed(q->Put("c")));
  EXPECT_TRUE(IsClosed(q->Get().status()));
}

TEST(JoinableQueueTest, TaskDoneTooOftenFails) {
  auto q = Make<JoinableQueue<int>>();
  absl::Status s = q.TaskDone();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("task_done() called too many times"));
  ASSERT_TRUE(q.Put(1).ok());
  ASSERT_TRUE(q.Get().ok());
  EXPECT_TRUE(q.TaskDone().ok());
  EXPECT_EQ(q.TaskDone().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(q.Join(absl::ZeroDuration()).ok());
}

// As in Python, a consumer may close its queue and still mark done what it
// got.
TEST(JoinableQueueTest, TaskDoneAndJoinAfterClose) {
  auto q = Make<JoinableQueue<int>>();
  ASSERT_TRUE(q.Put(1).ok());
  ASSERT_TRUE(q.Get().ok());
  ASSERT_TRUE(q.Close().ok());
  EXPECT_TRUE(IsClosed(q.Put(2)));
  EXPECT_TRUE(q.TaskDone().ok());
  EXPECT_TRUE(q.Join().ok());
}

TEST(JoinableQueueTest, JoinWaitsForEveryTask) {
  auto q = Make<JoinableQueue<int>>();
  EXPECT_TRUE(q.Join().ok());  // nothing put: returns at once
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Put(i).ok());
  EXPECT_TRUE(IsTimeout(q.Join(absl::Milliseconds(10))));
  std::atomic<int> sum{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        absl::StatusOr<int> v = q.Get();
        ASSERT_TRUE(v.ok());
        if (*v < 0) return;
        sum += *v;
        ASSERT_TRUE(q.TaskDone().ok());
      }
    });
  }
  ASSERT_TRUE(q.Join().ok());
  EXPECT_EQ(sum.load(), 45);
  for (int w = 0; w < 4; ++w) ASSERT_TRUE(q.Put(-1).ok());
  for (auto& t : workers) t.join();
  EXPECT_TRUE(IsTimeout(q.Join(absl::ZeroDuration())));  // 4 not done
}

// What the codec sends to a spawned child: the arena's handle. Decoding it
// here maps the same queue a second time.
TEST(QueueTest, TravelsAsItsHandle) {
  auto q = Make<Queue<std::string>>(3);
  std::vector<NativeHandle> handles;
  absl::StatusOr<std::string> bytes = Encode(q, &handles);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_EQ(handles.size(), 1u);
  EXPECT_FALSE(Encode(q, nullptr).ok());  // a handle needs a table

  // What the child would get: a duplicate of the handle, and the bytes.
  auto decode_as = [&](auto* out) {
    std::vector<OwnedHandle> received;
    OwnedHandle borrowed(handles[0]);
    absl::StatusOr<OwnedHandle> dup = borrowed.Duplicate();
    borrowed.release();  // still the queue's own
    EXPECT_TRUE(dup.ok());
    received.push_back(*std::move(dup));
    return DecodeTo(*bytes, out, &received);
  };
  Queue<std::string> other;
  ASSERT_TRUE(decode_as(&other).ok());
  EXPECT_EQ(other.maxsize(), 3);
  ASSERT_TRUE(q.Put("through the first mapping").ok());
  EXPECT_EQ(other.Qsize(), 1);
  EXPECT_EQ(*other.Get(), "through the first mapping");
  ASSERT_TRUE(other.Put("and back").ok());
  EXPECT_EQ(*q.Get(), "and back");

  // The same handle decoded as another item type or kind is refused.
  Queue<int> wrong_type;
  absl::Status s = decode_as(&wrong_type);
  EXPECT_TRUE(IsDecodeError(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("another item type"));
  JoinableQueue<std::string> wrong_kind;
  s = decode_as(&wrong_kind);
  EXPECT_TRUE(IsDecodeError(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("different kind"));
}

}  // namespace
}  // namespace mp
