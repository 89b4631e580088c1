// How a Process holds its target and arguments, and how the spawn registry
// (MP_REGISTER, MP_REGISTER_PROCESS) sends them to the child. Included by
// process/process.h; not for direct use.
//
// A plain function target keeps its arguments as one ArgSlot per parameter,
// typed by the parameter alone (never by what the caller passed), so that
// the registration of the function, which knows only its signature, can
// encode and decode them. Any other callable (a lambda, a functor) keeps
// std::thread's decayed copies and can only be started with fork.

#ifndef MP_PROCESS_INTERNAL_TARGET_H_
#define MP_PROCESS_INTERNAL_TARGET_H_

#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/codec.h"

namespace mp {

class Process;

namespace process_internal {

// A function pointer of any type, as a registry key (converting between
// function pointer types and back is exact).
using AnyFunction = void (*)();

template <typename T>
struct IsReferenceWrapper : std::false_type {};
template <typename T>
struct IsReferenceWrapper<std::reference_wrapper<T>> : std::true_type {};

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// The exit code a target's return value stands for: an integer is the code;
// a failed absl::Status or absl::StatusOr is 1, with the status in *error;
// anything else (void included) is 0, as Python ignores run()'s result.
template <typename R>
int ExitCodeOf(R&& result, absl::Status* error) {
  using D = std::decay_t<R>;
  if constexpr (std::is_same_v<D, absl::Status>) {
    if (result.ok()) return 0;
    *error = std::forward<R>(result);
    return 1;
  } else if constexpr (IsStatusOr<D>::value) {
    if (result.ok()) return 0;
    *error = result.status();
    return 1;
  } else if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    return static_cast<int>(result);
  } else {
    return 0;
  }
}

template <typename F, typename... A>
int InvokeForExitCode(absl::Status* error, F&& f, A&&... args) {
  using R = std::invoke_result_t<F, A...>;
  if constexpr (std::is_void_v<R>) {
    std::invoke(std::forward<F>(f), std::forward<A>(args)...);
    return 0;
  } else {
    return ExitCodeOf(std::invoke(std::forward<F>(f), std::forward<A>(args)...),
                      error);
  }
}

// What Process::Run() calls.
class Target {
 public:
  virtual ~Target() = default;
  // Runs the target once and returns its exit code (see ExitCodeOf).
  virtual int Call(absl::Status* error) = 0;
  // The function, for a plain-function target (spawn sends its registered
  // name); nullptr for any other callable.
  virtual AnyFunction function() const { return nullptr; }
};

// One argument of a plain-function target: a value of the parameter's
// decayed type, or (from std::ref / std::cref) a reference to the caller's
// object.
template <typename T>
class ArgSlot {
 public:
  ArgSlot() = default;
  template <typename U>
  explicit ArgSlot(std::reference_wrapper<U> ref)
      : ref_(const_cast<std::remove_const_t<U>*>(&ref.get())) {
    static_assert(std::is_same_v<std::remove_const_t<U>, T>,
                  "mp::Process: std::ref(x) must refer to an object of the "
                  "parameter's own type");
  }
  template <typename A, typename = std::enable_if_t<
                            !IsReferenceWrapper<std::decay_t<A>>::value &&
                            !std::is_same_v<std::decay_t<A>, ArgSlot>>>
  explicit ArgSlot(A&& arg) : value_(std::in_place, std::forward<A>(arg)) {}

  bool is_reference() const { return ref_ != nullptr; }
  T& get() { return ref_ != nullptr ? *ref_ : *value_; }
  const T& get() const { return ref_ != nullptr ? *ref_ : *value_; }
  // A default-constructed value to decode into.
  T& emplace() {
    ref_ = nullptr;
    return value_.emplace();
  }

 private:
  std::optional<T> value_;
  T* ref_ = nullptr;
};

// Hands slot `s` to a parameter of type P: a reference parameter gets the
// object itself; a value parameter gets the slot's own value moved in, or a
// copy of a referenced object (which must stay intact, as std::thread
// leaves it).
template <typename P, typename T>
decltype(auto) Pass(ArgSlot<T>& s) {
  if constexpr (std::is_lvalue_reference_v<P>) {
    return s.get();
  } else {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (s.is_reference()) return T(s.get());
    }
    return T(std::move(s.get()));
  }
}

template <typename F>
struct FunctionTraits;
template <typename R, typename... P>
struct FunctionTraits<R (*)(P...)> {
  using Pointer = R (*)(P...);
  using Slots = std::tuple<ArgSlot<std::decay_t<P>>...>;
};
template <typename R, typename... P>
struct FunctionTraits<R (*)(P...) noexcept> : FunctionTraits<R (*)(P...)> {};

template <typename F, typename = void>
struct IsPlainFunction : std::false_type {};
template <typename F>
struct IsPlainFunction<F, std::void_t<typename FunctionTraits<F>::Pointer>>
    : std::true_type {};

template <typename R, typename... P>
class FunctionTarget final : public Target {
 public:
  using Pointer = R (*)(P...);
  using Slots = std::tuple<ArgSlot<std::decay_t<P>>...>;

  FunctionTarget(Pointer fn, Slots slots) : fn_(fn), slots_(std::move(slots)) {}
  explicit FunctionTarget(Pointer fn) : fn_(fn) {}

  int Call(absl::Status* error) override {
    return CallWith(error, std::index_sequence_for<P...>{});
  }
  AnyFunction function() const override {
    return reinterpret_cast<AnyFunction>(fn_);
  }
  Slots& slots() { return slots_; }
  const Slots& slots() const { return slots_; }

 private:
  template <size_t... I>
  int CallWith(absl::Status* error, std::index_sequence<I...>) {
    return InvokeForExitCode(error, fn_, Pass<P>(std::get<I>(slots_))...);
  }

  Pointer fn_;
  Slots slots_;
};

template <typename Fn, typename... Args>
class CallableTarget final : public Target {
 public:
  template <typename F, typename... A>
  explicit CallableTarget(F&& fn, A&&... args)
      : fn_(std::forward<F>(fn)), args_(std::forward<A>(args)...) {}

  int Call(absl::Status* error) override {
    return std::apply(
        [this, error](Args&... args) {
          return InvokeForExitCode(error, std::move(fn_), std::move(args)...);
        },
        args_);
  }

 private:
  Fn fn_;
  std::tuple<Args...> args_;
};

// Checks one (parameter, argument) pair of a plain-function target.
template <typename P, typename A>
constexpr bool CheckArgument() {
  using T = std::decay_t<P>;
  using D = std::decay_t<A>;
  if constexpr (IsReferenceWrapper<D>::value) {
    using U = typename D::type;
    static_assert(
        !(std::is_lvalue_reference_v<P> &&
          !std::is_const_v<std::remove_reference_t<P>> && std::is_const_v<U>),
        "mp::Process: std::cref(x) cannot bind a non-const "
        "reference parameter");
    static_assert(
        std::is_lvalue_reference_v<P> || std::is_copy_constructible_v<T>,
        "mp::Process: a parameter taken by value needs a copyable "
        "type when the argument is std::ref(x); std::move(x) in "
        "instead");
  } else {
    static_assert(std::is_constructible_v<T, A>,
                  "mp::Process: an argument does not convert to the target "
                  "function's parameter type");
  }
  return true;
}

template <typename R, typename... P, typename... A>
std::unique_ptr<Target> MakeFunctionTarget(R (*fn)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A),
                "mp::Process: wrong number of arguments for the target "
                "function");
  if constexpr (sizeof...(P) == sizeof...(A)) {
    static_assert((CheckArgument<P, A>() && ...));
    return std::make_unique<FunctionTarget<R, P...>>(
        fn, typename FunctionTarget<R, P...>::Slots(
                ArgSlot<std::decay_t<P>>(std::forward<A>(args))...));
  } else {
    return nullptr;
  }
}

// The Target for `fn(args...)`, stored as std::thread stores it.
template <typename F, typename... A>
std::unique_ptr<Target> MakeTarget(F&& fn, A&&... args) {
  using D = std::decay_t<F>;
  if constexpr (IsPlainFunction<D>::value) {
    typename FunctionTraits<D>::Pointer p = fn;
    return MakeFunctionTarget(p, std::forward<A>(args)...);
  } else {
    static_assert(std::is_invocable_v<D, std::decay_t<A>...>,
                  "mp::Process: the target cannot be called with these "
                  "arguments (they are passed as std::thread passes them: "
                  "by value, or by reference through std::ref)");
    return std::make_unique<CallableTarget<D, std::decay_t<A>...>>(
        std::forward<F>(fn), std::forward<A>(args)...);
  }
}

// ---------------------------------------------------------------------------
// The spawn registry.

struct FunctionEntry {
  AnyFunction function;
  const char* name;  // as written in MP_REGISTER(...)
  const char* file;  // with `name`, the key a spawned child looks up
  void (*encode)(const Target& target, Encoder& e);
  absl::StatusOr<std::unique_ptr<Target>> (*decode)(AnyFunction function,
                                                    Decoder& d);
};

struct ClassEntry {
  const std::type_info* type;
  const char* name;
  const char* file;
  void (*encode)(const Process& process, Encoder& e);
  absl::StatusOr<std::unique_ptr<Process>> (*create)(Decoder& d);
};

void RegisterFunction(const FunctionEntry& entry);
void RegisterClass(const ClassEntry& entry);

template <typename R, typename... P>
void EncodeFunctionArgs(const Target& target, Encoder& e) {
  const auto& t = static_cast<const FunctionTarget<R, P...>&>(target);
  std::apply([&e](const auto&... slots) { e.Write(slots.get()...); },
             t.slots());
}

template <typename R, typename... P>
absl::StatusOr<std::unique_ptr<Target>> DecodeFunctionArgs(AnyFunction fn,
                                                           Decoder& d) {
  auto t = std::make_unique<FunctionTarget<R, P...>>(
      reinterpret_cast<R (*)(P...)>(fn));
  absl::Status s = std::apply(
      [&d](auto&... slots) { return d.Read(slots.emplace()...); }, t->slots());
  if (!s.ok()) return s;
  return std::unique_ptr<Target>(std::move(t));
}

class FunctionRegistrar {
 public:
  template <typename R, typename... P>
  FunctionRegistrar(R (*fn)(P...), const char* name, const char* file) {
    RegisterFunction({reinterpret_cast<AnyFunction>(fn), name, file,
                      &EncodeFunctionArgs<R, P...>,
                      &DecodeFunctionArgs<R, P...>});
  }
  template <typename R, typename... P>
  FunctionRegistrar(R (*fn)(P...) noexcept, const char* name, const char* file)
      : FunctionRegistrar(static_cast<R (*)(P...)>(fn), name, file) {}
};

template <typename C, typename = void>
struct HasMpEncode : std::false_type {};
template <typename C>
struct HasMpEncode<C, std::void_t<decltype(MpEncode(std::declval<Encoder&>(),
                                                    std::declval<const C&>()))>>
    : std::true_type {};

template <typename C>
void EncodeProcessClass(const Process& p, Encoder& e) {
  if constexpr (HasMpEncode<C>::value) e.Write(static_cast<const C&>(p));
}

template <typename C>
absl::StatusOr<std::unique_ptr<Process>> CreateProcessClass(Decoder& d) {
  auto object = std::make_unique<C>();
  if constexpr (HasMpEncode<C>::value) {
    absl::Status s = d.Read(*object);
    if (!s.ok()) return s;
  }
  return std::unique_ptr<Process>(std::move(object));
}

// mp::Process, named through C so that it is looked at only once C (and
// with it Process) is complete.
template <typename C>
struct ProcessBase {
  using type = Process;
};

template <typename C>
class ClassRegistrar {
 public:
  ClassRegistrar(const char* name, const char* file) {
    static_assert(
        std::is_base_of_v<Process, C>,
        "MP_REGISTER_PROCESS: the class must derive from mp::Process");
    static_assert(std::is_default_constructible_v<C>,
                  "MP_REGISTER_PROCESS: spawn makes the object anew in the "
                  "child, so the class needs a default constructor");
    // The base's own state (name, daemon, target...) travels anyway; data
    // members of the class itself need MpEncode/MpDecode (base/codec.h).
    static_assert(HasMpEncode<C>::value ||
                      sizeof(C) == sizeof(typename ProcessBase<C>::type),
                  "MP_REGISTER_PROCESS: the class has data members, which "
                  "spawn must send to the child: give it MpEncode/MpDecode "
                  "(see base/codec.h)");
    RegisterClass({&typeid(C), name, file, &EncodeProcessClass<C>,
                   &CreateProcessClass<C>});
  }
};

}  // namespace process_internal
}  // namespace mp

#define MP_PROCESS_INTERNAL_CONCAT2(a, b) a##b
#define MP_PROCESS_INTERNAL_CONCAT(a, b) MP_PROCESS_INTERNAL_CONCAT2(a, b)

#endif  // MP_PROCESS_INTERNAL_TARGET_H_
