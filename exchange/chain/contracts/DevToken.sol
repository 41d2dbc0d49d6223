// SPDX-License-Identifier: MIT
// The dev chain's stand-in for USDT: OpenZeppelin 4.9.6's ERC20PresetMinterPauser (the deployer
// holds the minter role) with the decimals given at deployment (6, like USDT).
// Compiled once by scripts/compile_dev_token.mjs into DevToken.json, which is committed.
pragma solidity ^0.8.0;

import "@openzeppelin/contracts/token/ERC20/presets/ERC20PresetMinterPauser.sol";

contract DevToken is ERC20PresetMinterPauser {
    uint8 private immutable _tokenDecimals;

    constructor(string memory name, string memory symbol, uint8 tokenDecimals)
        ERC20PresetMinterPauser(name, symbol)
    {
        _tokenDecimals = tokenDecimals;
    }

    function decimals() public view override returns (uint8) {
        return _tokenDecimals;
    }
}
