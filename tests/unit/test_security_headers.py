"""The Content-Security-Policy lets the map fetch tiles from the configured tile server only."""
from core.settings import load_settings
from dashboard.security import content_security_policy, tile_origin


def test_the_tile_origin_comes_from_the_configured_template():
    assert tile_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org"
    assert tile_origin("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png") == "https://*.basemaps.cartocdn.com"
    assert tile_origin("") == "" and tile_origin("javascript:alert(1)") == ""


def test_without_tiles_the_policy_allows_no_remote_images():
    policy = content_security_policy(load_settings(map_tiles=""), [])
    assert "https://" not in policy and "http://" not in policy
    with_tiles = content_security_policy(load_settings(map_tiles="https://tiles.example.org/{z}/{x}/{y}.png"), [])
    assert "img-src 'self' data: blob: https://tiles.example.org" in with_tiles
