namespace Firezone.Tun.Netlink;

/// <summary>What one <see cref="TunDeviceManager"/> call changed in the kernel (all zero/false when nothing had to change).</summary>
/// <param name="AddressesAdded">Addresses added.</param>
/// <param name="AddressesRemoved">Addresses removed.</param>
/// <param name="RoutesAdded">Routes added.</param>
/// <param name="RoutesRemoved">Routes removed.</param>
/// <param name="RulesAdded">Policy rules added.</param>
/// <param name="RulesRemoved">Policy rules removed (including duplicates left by upstream).</param>
/// <param name="MtuChanged">The MTU was changed.</param>
/// <param name="LinkBroughtUp">The link was brought up.</param>
public readonly record struct TunConfigChange(int AddressesAdded, int AddressesRemoved, int RoutesAdded, int RoutesRemoved,
    int RulesAdded, int RulesRemoved, bool MtuChanged, bool LinkBroughtUp)
{
    /// <summary>True when the call found the kernel already in the wanted state.</summary>
    public bool IsEmpty => this == default;
}

/// <summary>An address configured on an interface.</summary>
/// <param name="Address">The address.</param>
/// <param name="PrefixLength">Its prefix length.</param>
public readonly record struct InterfaceAddress(System.Net.IPAddress Address, int PrefixLength)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Address}/{PrefixLength}";
}
