namespace Firezone.Snownet.Ice;

/// <summary>The agent's role (RFC 8445 §6.1.1). Firezone's client is controlling, its gateway controlled.</summary>
internal enum IceRole
{
    /// <summary>Nominates pairs (sends USE-CANDIDATE).</summary>
    Controlling,

    /// <summary>Follows the controlling agent's nomination.</summary>
    Controlled,
}
