namespace Firezone.Snownet.Turn;

/// <summary>An RFC 8656 permission of one allocation for one peer IP (any port), installed by CreatePermission for 300 s.</summary>
internal sealed class RelayPermission(RelayAllocation allocation, AddressKey peerIp) : DeadlineEntry
{
    public RelayAllocation Allocation { get; } = allocation;

    /// <summary>The peer IP (port 0).</summary>
    public AddressKey PeerIp { get; } = peerIp;

    /// <summary>When the permission ends (UTC ticks); also its deadline in the <see cref="DeadlineQueue"/>.</summary>
    public long ExpiryTicks { get; set; }
}

