namespace Firezone.Snownet.WireGuard;

/// <summary>
/// Sliding anti-replay window in the style of RFC 6479: a ring of 64-bit blocks, whole blocks cleared as the
/// window advances, no bit shifting. 64 blocks = 4096 bits of ring; counters up to 4032 behind the greatest seen
/// are still accepted once each.
/// </summary>
internal sealed class ReplayWindow
{
    private const int BlockBits = 64;
    private const int RingBlocks = 64;
    private const int BlockIndexMask = RingBlocks - 1;

    /// <summary>How far behind the greatest counter a counter may still be accepted.</summary>
    public const ulong WindowSize = (RingBlocks - 1) * BlockBits;

    private readonly ulong[] _ring = new ulong[RingBlocks];
    private ulong _greatest;

    /// <summary>Cheap pre-check before decryption: false if the counter is certainly old or already seen.</summary>
    public bool MayAccept(ulong counter)
    {
        if (counter >= WireGuardTimers.RejectAfterMessages) return false;
        if (counter > _greatest) return true;
        if (_greatest - counter >= WindowSize) return false;
        var block = (int)(counter / BlockBits) & BlockIndexMask;
        return (_ring[block] & (1UL << (int)(counter % BlockBits))) == 0;
    }

    /// <summary>Marks an authenticated counter as seen; false if it is too old or was already seen.</summary>
    public bool Accept(ulong counter)
    {
        if (counter >= WireGuardTimers.RejectAfterMessages) return false;
        var index = counter / BlockBits;
        if (counter > _greatest)
        {
            var current = _greatest / BlockBits;
            var diff = index - current;
            if (diff > RingBlocks) diff = RingBlocks;
            for (ulong i = 1; i <= diff; i++) _ring[(int)((current + i) & BlockIndexMask)] = 0;
            _greatest = counter;
        }
        else if (_greatest - counter >= WindowSize)
        {
            return false;
        }
        var block = (int)(index & BlockIndexMask);
        var bit = 1UL << (int)(counter % BlockBits);
        if ((_ring[block] & bit) != 0) return false;
        _ring[block] |= bit;
        return true;
    }
}
