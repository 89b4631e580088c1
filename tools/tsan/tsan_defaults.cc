// ThreadSanitizer's built-in suppressions for mp's builds.
//
// Abseil's Mutex hides its internal synchronisation from ThreadSanitizer and
// reports its acquire and release itself, but a waiter's per-thread
// semaphore, which the releasing thread posts (Waiter::Post), is reached
// through that hidden synchronisation. When the waiter's thread identity was
// just allocated (the thread's first wait), the post is reported as racing
// with that allocation. The report names only Abseil's code; suppressing
// it leaves every race in mp's own code reported.
extern "C" const char* __tsan_default_suppressions() {
  return "race:synchronization_internal::Waiter::Post\n";
}
