namespace Firezone.Snownet;

/// <summary>ICE credentials of one side of a connection: ufrag (<see cref="Username"/>) and password.</summary>
/// <param name="Username">The ufrag (Firezone uses 4 characters).</param>
/// <param name="Password">The password (Firezone uses 22 characters).</param>
public sealed record Credentials(string Username, string Password)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Username}:***";
}

/// <summary>
/// What a <see cref="ClientNode"/> sends to the gateway to open a connection (deprecated offer/answer flow): the
/// WireGuard preshared key for the connection and the client's ICE credentials.
/// </summary>
/// <param name="SessionKey">32 random bytes: the WireGuard preshared key (keep secret).</param>
/// <param name="Credentials">The client's ICE credentials.</param>
public sealed record Offer(ReadOnlyMemory<byte> SessionKey, Credentials Credentials)
{
    /// <inheritdoc/>
    public override string ToString() => $"Offer({Credentials})";
}

/// <summary>The gateway's reply to an <see cref="Offer"/>: its ICE credentials.</summary>
/// <param name="Credentials">The gateway's ICE credentials.</param>
public sealed record Answer(Credentials Credentials);
