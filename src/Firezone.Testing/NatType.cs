namespace Firezone.Testing;

/// <summary>How a simulated peer reaches the internet.</summary>
public enum NatType
{
    /// <summary>Public address, no NAT, no filtering.</summary>
    None,

    /// <summary>Endpoint-independent mapping and filtering.</summary>
    FullCone,

    /// <summary>Endpoint-independent mapping, address-dependent filtering.</summary>
    AddressRestricted,

    /// <summary>Endpoint-independent mapping, address-and-port-dependent filtering.</summary>
    PortRestricted,

    /// <summary>Address-and-port-dependent mapping (a new port per destination) and filtering.</summary>
    Symmetric,

    /// <summary>Drops all direct traffic (only the peer's own relay, reached out of band, works).</summary>
    Blocked,
}
