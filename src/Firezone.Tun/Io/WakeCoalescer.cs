using System.Diagnostics;

namespace Firezone.Tun.Io;

/// <summary>
/// Interrupt coalescing for a receive thread, as NICs do (<c>rx-usecs</c>): when the thread is being woken often (the
/// previous wake-up was less than <see cref="BusyInterval"/> ago) and a wake-up brought only a small batch, it sleeps
/// <see cref="Delay"/> before waiting again, so the next wake-up finds a larger batch. Under load this trades up to
/// <see cref="Delay"/> of latency for far fewer wake-ups per datagram (each costs a context switch and, for the sender,
/// a cross-CPU wake-up); a quiet link is never delayed. One instance per thread; <see cref="Enter"/> first.
/// </summary>
internal struct WakeCoalescer
{
    /// <summary>Wake-ups closer together than this count as "busy".</summary>
    public static readonly TimeSpan BusyInterval = TimeSpan.FromMicroseconds(200);

    /// <summary>How long a busy thread lets datagrams accumulate.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromMicroseconds(50);

    private static readonly long BusyTicks = (long)(BusyInterval.TotalSeconds * Stopwatch.Frequency);

    private long _lastWake;

    /// <summary>Makes the calling thread's timed sleeps precise (timer slack 1 µs instead of the default 50 µs).</summary>
    public static unsafe void Enter()
    {
        if (LibC.IsSupported)
        {
            _ = LibC.Prctl(LibC.PR_SET_TIMERSLACK, 1000, 0, 0, 0);
        }
    }

    /// <summary>Call after each wake-up that brought <paramref name="received"/> of at most <paramref name="capacity"/> datagrams.</summary>
    public unsafe void AfterWake(int received, int capacity)
    {
        long now = Stopwatch.GetTimestamp();
        bool busy = now - _lastWake < BusyTicks;
        _lastWake = now;
        if (!busy || received == 0 || received >= capacity / 2 || !LibC.IsSupported)
        {
            return;
        }

        var delay = new LibC.TimeSpec { Seconds = 0, Nanoseconds = (long)(Delay.TotalMicroseconds * 1000) };
        _ = LibC.NanoSleep(&delay, null);
    }
}
