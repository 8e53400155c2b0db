using System.Runtime.CompilerServices;

namespace Firezone.Connlib.Tcp;

/// <summary>Modulo-2³² comparisons of TCP sequence numbers (RFC 9293 §3.4): a is "before" b within half the space.</summary>
internal static class SequenceNumber
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;
    /// <summary>The later of two sequence numbers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;
}
