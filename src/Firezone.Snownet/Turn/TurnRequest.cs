using System.Net;

namespace Firezone.Snownet.Turn;

/// <summary>The TURN requests an <see cref="Allocation"/> sends (snownet spec §6.3).</summary>
internal enum TurnRequestKind : byte
{
    /// <summary>Unauthenticated Binding (server-reflexive address, relay liveness).</summary>
    Binding,

    /// <summary>Allocate a relayed IPv4 and (if possible) IPv6 address.</summary>
    Allocate,

    /// <summary>Refresh (or, with <see cref="TurnRequest.Delete"/>, delete) the allocation.</summary>
    Refresh,

    /// <summary>Bind a channel number to a peer.</summary>
    ChannelBind,
}

/// <summary>
/// What a request asks for, independent of its transaction id and credentials, so that it can be re-encoded for a
/// retransmission or after a 401/438 challenge.
/// </summary>
internal readonly record struct TurnRequest(TurnRequestKind Kind, bool Delete = false, IPEndPoint? Peer = null, ushort Channel = 0)
{
    /// <summary>A Binding request.</summary>
    public static TurnRequest Binding => new(TurnRequestKind.Binding);

    /// <summary>An Allocate request.</summary>
    public static TurnRequest Allocate => new(TurnRequestKind.Allocate);

    /// <summary>A Refresh request that keeps the allocation alive.</summary>
    public static TurnRequest Refresh => new(TurnRequestKind.Refresh);

    /// <summary>A Refresh with LIFETIME 0, deleting the allocation.</summary>
    public static TurnRequest DeleteAllocation => new(TurnRequestKind.Refresh, Delete: true);

    /// <summary>A ChannelBind of <paramref name="channel"/> to <paramref name="peer"/>.</summary>
    public static TurnRequest ChannelBind(IPEndPoint peer, ushort channel) => new(TurnRequestKind.ChannelBind, Peer: peer, Channel: channel);
}

/// <summary>Long-term credentials of one relay plus the nonce it last handed out.</summary>
internal sealed class AllocationCredentials(string username, string password, string realm, byte[] key)
{
    /// <summary>USERNAME.</summary>
    public string Username { get; } = username;

    /// <summary>The password (only used to compare configurations; the key is derived once).</summary>
    public string Password { get; } = password;

    /// <summary>REALM we expect and send.</summary>
    public string Realm { get; } = realm;

    /// <summary>MD5(username ":" realm ":" password), the MESSAGE-INTEGRITY key.</summary>
    public byte[] Key { get; } = key;

    /// <summary>The latest NONCE the relay sent, if any.</summary>
    public string? Nonce { get; set; }
}
