using System.Net;
using System.Net.Sockets;

namespace Firezone.Snownet.Turn;

/// <summary>
/// Server-side state of one allocation (one client transport address, one port, one or two families). Its deadline
/// (the expiry) lives in the server's <see cref="DeadlineQueue"/>.
/// </summary>
internal sealed class RelayAllocation : DeadlineEntry
{
    /// <summary>Bit of <see cref="PolledFamilies"/> for IPv4.</summary>
    public const byte IPv4Flag = 1;

    /// <summary>Bit of <see cref="PolledFamilies"/> for IPv6.</summary>
    public const byte IPv6Flag = 2;

    public RelayAllocation(AddressKey clientKey, IPEndPoint client, int port, bool ipv4, bool ipv6)
    {
        ClientKey = clientKey;
        Client = client;
        ClientSocketAddress = client.Serialize();
        Port = port;
        HasIPv4 = ipv4;
        HasIPv6 = ipv6;
        PortAttempts = 1;
    }

    public AddressKey ClientKey { get; }

    public IPEndPoint Client { get; }

    public SocketAddress ClientSocketAddress { get; }

    /// <summary>The allocation port; changes only while the Allocate success is pending and the host reports the port taken.</summary>
    public int Port { get; set; }

    public bool HasIPv4 { get; }

    public bool HasIPv6 { get; }

    /// <summary>Channels by number (bound or cooling down); at most 0x4000 (the channel-number range).</summary>
    public Dictionary<ushort, RelayChannel> ChannelsByNumber { get; } = new();

    /// <summary>Channel numbers by peer transport address (bound or cooling down).</summary>
    public Dictionary<AddressKey, ushort> ChannelsByPeer { get; } = new();

    /// <summary>RFC 8656 permissions from CreatePermission by peer IP (port 0); at most <see cref="TurnServerOptions.MaxPermissionsPerAllocation"/>.</summary>
    public Dictionary<AddressKey, RelayPermission> Permissions { get; } = new();

    /// <summary>Bumped whenever the CreateAllocation commands still queued for this allocation become void (port moved, allocation failed).</summary>
    public int Generation { get; set; }

    /// <summary>Families whose CreateAllocation of the current <see cref="Generation"/> the host has polled (and so tried to bind).</summary>
    public byte PolledFamilies { get; set; }

    /// <summary>Ports tried for this allocation so far (1 for the first draw).</summary>
    public int PortAttempts { get; set; }

    /// <summary>When its Allocate was handled: busy ports marked since then were tried by it and are not tried again.</summary>
    public long AllocatedAtTicks { get; init; }

    /// <summary>The Allocate response while it waits in the command queue; null once the host has polled it.</summary>
    public PendingAllocateResponse? Pending { get; set; }

    /// <summary>Set when the allocation has been deleted.</summary>
    public bool Deleted { get; set; }

    public bool Serves(bool ipv6) => ipv6 ? HasIPv6 : HasIPv4;

    public static byte FamilyFlag(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => IPv4Flag,
        AddressFamily.InterNetworkV6 => IPv6Flag,
        _ => 0,
    };
}

