// Send/Recv through the codec, and a Connection carried by the codec as a
// spawned Process's argument is (its handles in a table beside the bytes).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/codec.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

struct Item {
  int id = 0;
  std::string name;
  std::vector<double> values;
  friend void MpEncode(Encoder& e, const Item& i) {
    e.Write(i.id, i.name, i.values);
  }
  friend absl::Status MpDecode(Decoder& d, Item& i) {
    return d.Read(i.id, i.name, i.values);
  }
  friend bool operator==(const Item& a, const Item& b) {
    return a.id == b.id && a.name == b.name && a.values == b.values;
  }
};

using pipe_test::MakePipe;

TEST(SendRecvTest, ObjectsRoundTrip) {
  auto [a, b] = MakePipe();
  ASSERT_TRUE(a.Send(std::string("hello")).ok());
  ASSERT_TRUE(a.Send(42).ok());
  ASSERT_TRUE(a.Send(Item{7, "seven", {1.5, 2.5}}).ok());
  std::map<std::string, std::vector<int>> m = {{"a", {1, 2}}, {"b", {}}};
  ASSERT_TRUE(a.Send(m).ok());
  // Over a pipe packet (Linux: the bulk socket), under a Windows pipe buffer.
  std::vector<int> big(8000, 3);
  ASSERT_TRUE(a.Send(big).ok());
  EXPECT_EQ(*b.Recv<std::string>(), "hello");
  EXPECT_EQ(*b.Recv<int>(), 42);
  EXPECT_EQ(*b.Recv<Item>(), (Item{7, "seven", {1.5, 2.5}}));
  EXPECT_EQ((*b.Recv<std::map<std::string, std::vector<int>>>()), m);
  EXPECT_EQ(*b.Recv<std::vector<int>>(), big);
}

TEST(SendRecvTest, BytesThatAreNotTheTypeAreADecodeError) {
  auto [a, b] = MakePipe();
  ASSERT_TRUE(a.SendBytes("\xff\xff\xff").ok());
  absl::StatusOr<std::vector<std::string>> v =
      b.Recv<std::vector<std::string>>();
  EXPECT_TRUE(IsDecodeError(v.status())) << v.status();
  // The bad message is gone; the next one is fine.
  ASSERT_TRUE(a.Send(1).ok());
  EXPECT_EQ(*b.Recv<int>(), 1);
}

TEST(SendRecvTest, ErrorsOfTheBytesApiCarryOver) {
  auto [r, w] = MakePipe(/*duplex=*/false);
  EXPECT_EQ(r.Send(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.Recv<int>().status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(w.Close().ok());
  EXPECT_TRUE(IsEof(r.Recv<int>().status()));
  EXPECT_TRUE(IsClosed(w.Send(1)));
}

TEST(SendRecvTest, HandlesCannotBeSent) {
  auto [a, b] = MakePipe();
  auto [x, y] = MakePipe();
  absl::Status s = a.Send(x);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(*b.Poll());  // nothing was sent
}

// What the launcher does for a spawned child, in one process: encode with a
// handle table, hand over (here: duplicate) the handles, decode.
absl::StatusOr<Connection> CarryAcross(const Connection& c) {
  std::vector<NativeHandle> table;
  MP_ASSIGN_OR_RETURN(std::string bytes, Encode(c, &table));
  std::vector<OwnedHandle> received;
  for (NativeHandle h : table) {
    OwnedHandle borrowed(h);
    absl::StatusOr<OwnedHandle> dup = borrowed.Duplicate();
    borrowed.release();  // still `c`'s
    if (!dup.ok()) return dup.status();
    received.push_back(*std::move(dup));
  }
  return Decode<Connection>(bytes, &received);
}

TEST(ConnectionCodecTest, CarriedConnectionWorksBothWays) {
  for (bool duplex : {true, false}) {
    auto [a, b] = MakePipe(duplex);
    absl::StatusOr<Connection> b2 = CarryAcross(b);
    ASSERT_TRUE(b2.ok()) << b2.status();
    ASSERT_TRUE(b.Close().ok());
    EXPECT_EQ(b2->readable(), duplex);
    EXPECT_TRUE(b2->writable());
    ASSERT_TRUE(b2->SendBytes("small").ok());
    ASSERT_TRUE(b2->SendBytes(std::string(40000, 'L')).ok());
    EXPECT_EQ(*a.RecvBytes(), "small");
    EXPECT_EQ(a.RecvBytes()->size(), 40000u);
    ASSERT_TRUE(b2->Close().ok());
    EXPECT_TRUE(IsEof(a.RecvBytes().status()));
  }
}

TEST(ConnectionCodecTest, AMessageStartedOnTheWayGoesAlong) {
  for (size_t size : {110, 40000}) {
    auto [r, w] = MakePipe(/*duplex=*/false);
    ASSERT_TRUE(w.SendBytes(std::string(size, 'p')).ok());
    char small[40];
    ASSERT_TRUE(
        IsBufferTooShort(r.RecvBytesInto(absl::MakeSpan(small)).status()));
    absl::StatusOr<Connection> r2 = CarryAcross(r);
    ASSERT_TRUE(r2.ok()) << r2.status();
    ASSERT_TRUE(r.Close().ok());
    absl::StatusOr<std::string> m = r2->RecvBytes();
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(*m, std::string(size, 'p'));
  }
}

TEST(ConnectionCodecTest, ClosedConnectionCannotBeCarried) {
  auto [a, b] = MakePipe();
  ASSERT_TRUE(a.Close().ok());
  std::vector<NativeHandle> table;
  EXPECT_TRUE(IsClosed(Encode(a, &table).status()));
  EXPECT_TRUE(table.empty());
}

TEST(ConnectionCodecTest, GarbageDoesNotDecodeIntoAConnection) {
  std::vector<OwnedHandle> none;
  EXPECT_TRUE(IsDecodeError(Decode<Connection>("", &none).status()));
  EXPECT_TRUE(IsDecodeError(
      Decode<Connection>(std::string(1, '\0') + std::string(5, '\0'), &none)
          .status()));
}

}  // namespace
}  // namespace mp
