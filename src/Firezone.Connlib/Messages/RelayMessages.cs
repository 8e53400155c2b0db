using System.Text.Json;
using Firezone.Connlib.Messages.Wire;

namespace Firezone.Connlib.Messages;

// Topic "relay" (phoenix-and-portal spec §9).

/// <summary>
/// The relay's join payload <c>{"stamp_secret": hex}</c>: the secret the portal mints TURN credentials with, 64
/// lowercase hex characters of 32 random bytes, sent unchanged on every (re)join.
/// </summary>
/// <param name="StampSecret">The secret as sent.</param>
public sealed record RelayJoin(string StampSecret) : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "phx_join";

    /// <summary>The join payload for <paramref name="secret"/> (lowercase hex).</summary>
    public static RelayJoin FromSecret(ReadOnlySpan<byte> secret) => new(Convert.ToHexStringLower(secret));

    /// <inheritdoc/>
    public override string ToString() => "RelayJoin { StampSecret = *** }";

    internal override JsonElement Encode() => WireConvert.ToElement(new RelayJoinWire { StampSecret = StampSecret }, WireContext.Default.RelayJoinWire);

    internal static RelayJoin Decode(JsonElement payload) => new(WireConvert.Read(payload, WireContext.Default.RelayJoinWire, "$").StampSecret);
}

/// <summary><c>init</c> (portal → relay): payload <c>{}</c> (any object is accepted); relays ignore it.</summary>
public sealed record RelayInit : PortalMessage
{
    /// <inheritdoc/>
    public override string Event => "init";

    internal override JsonElement Encode() => JsonElement.Parse("{}"u8);

    internal static RelayInit Decode(JsonElement payload) => payload.ValueKind == JsonValueKind.Object
        ? new RelayInit()
        : throw new WireFormatException($"$: expected an object, found {payload.ValueKind}");
}
