using System.Net;
using System.Text.Json;
using Firezone.Connlib.Messages.Wire;
using Firezone.Snownet;

namespace Firezone.Connlib.Messages;

/// <summary>
/// One relay as the portal lists it (<c>init</c>, <c>relays_presence</c>): tagged by <c>type</c>, <c>turn</c> or
/// <c>stun</c>; an unknown type fails the whole message. Convert a list to what a node uses with
/// <see cref="TurnRelays.FromPortal"/>.
/// </summary>
public abstract record RelayEntry
{
    private protected RelayEntry(RelayId id, IPEndPoint address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Id = id;
        Address = address;
    }

    /// <summary>The relay's id (an IPv4 and an IPv6 entry of one relay share it).</summary>
    public RelayId Id { get; init; }

    /// <summary>Its address (<c>1.2.3.4:3478</c> or <c>[2001:db8::1]:3478</c> on the wire).</summary>
    public IPEndPoint Address { get; init; }
}

/// <summary>A TURN relay address with the credentials the portal minted for it.</summary>
/// <param name="Id">The relay's id.</param>
/// <param name="Address">Its address.</param>
/// <param name="Username">TURN username, <c>&lt;expiry secs&gt;:&lt;salt&gt;</c>.</param>
/// <param name="Password">TURN password.</param>
/// <param name="ExpiresAt">When the credentials expire (Unix seconds on the wire; upstream parses but ignores it).</param>
public sealed record TurnRelayEntry(RelayId Id, IPEndPoint Address, string Username, string Password, DateTimeOffset ExpiresAt)
    : RelayEntry(Id, Address)
{
    /// <inheritdoc/>
    public override string ToString() => $"TurnRelayEntry {{ Id = {Id}, Address = {Address}, Username = {Username}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>A STUN-only server (connlib ignores these).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Address">Its address.</param>
public sealed record StunRelayEntry(RelayId Id, IPEndPoint Address) : RelayEntry(Id, Address);

/// <summary>
/// <c>relays_presence</c> (client and gateway topics): relays gone (stop using them) and relays (re)connected (add or
/// refresh them). Both lists are required.
/// </summary>
/// <param name="DisconnectedIds">Relays that went away.</param>
/// <param name="Connected">Relays to add or refresh.</param>
public sealed record RelaysPresence(IReadOnlyList<RelayId> DisconnectedIds, IReadOnlyList<RelayEntry> Connected) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "relays_presence";

    internal override JsonElement Encode() => WireConvert.ToElement(
        new RelaysPresenceWire { DisconnectedIds = [.. DisconnectedIds.Select(i => WireConvert.Id(i.Value))], Connected = WireConvert.Relays(Connected) },
        WireContext.Default.RelaysPresenceWire);

    internal static RelaysPresence Decode(JsonElement payload)
    {
        var wire = WireConvert.Read(payload, WireContext.Default.RelaysPresenceWire, "$");
        return new RelaysPresence(
            WireConvert.Each(wire.DisconnectedIds, "$.disconnected_ids", WireConvert.RelayId),
            WireConvert.Relays(wire.Connected, "$.connected"));
    }
}
