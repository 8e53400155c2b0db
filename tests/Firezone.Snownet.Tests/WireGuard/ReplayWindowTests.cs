using Firezone.Snownet.WireGuard;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Snownet.Tests.WireGuard;

public class ReplayWindowTests
{
    [Fact]
    public void Accepts_each_counter_once_in_any_order_inside_the_window()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(0));
        Assert.False(w.Accept(0));
        Assert.True(w.Accept(5000));
        Assert.True(w.Accept(5000 - 2048)); // at least 2048 behind is still fine
        Assert.False(w.Accept(5000 - 2048));
        Assert.True(w.Accept(5000 - ReplayWindow.WindowSize + 1));
        Assert.False(w.Accept(5000 - ReplayWindow.WindowSize)); // too old
        Assert.False(w.MayAccept(3));
        Assert.False(w.Accept(WireGuardTimers.RejectAfterMessages));
    }

    [Fact]
    public void A_large_jump_clears_the_whole_ring()
    {
        var w = new ReplayWindow();
        for (ulong i = 0; i < 4096; i++) Assert.True(w.Accept(i));
        Assert.True(w.Accept(1_000_000));
        for (ulong i = 1_000_000 - 4000; i < 1_000_000; i++) Assert.True(w.Accept(i));
    }

    /// <summary>Model: a set of seen counters, refusing anything at least WindowSize behind the maximum.</summary>
    [Property(MaxTest = 200)]
    public bool Behaves_like_the_set_model(ushort[] deltas, bool[] backwards)
    {
        var w = new ReplayWindow();
        var seen = new HashSet<ulong>();
        ulong max = 0, cursor = 10_000;
        var any = false;
        for (var i = 0; i < deltas.Length; i++)
        {
            var back = i < backwards.Length && backwards[i];
            var d = (ulong)(deltas[i] % 6000);
            var counter = back ? (cursor > d ? cursor - d : 0) : cursor + d % 300;
            cursor = Math.Max(cursor, counter);
            var expected = !seen.Contains(counter) && (!any || counter > max || max - counter < ReplayWindow.WindowSize);
            if (w.MayAccept(counter) != expected) return false;
            if (w.Accept(counter) != expected) return false;
            if (expected)
            {
                seen.Add(counter);
                if (!any || counter > max) max = counter;
                any = true;
            }
        }
        return true;
    }
}
